/**
 * One trainer child process (`node dist/cli.js ... --json`): spawns it, splits stdout into
 * lines and parses each as an event of its command (TrainerEvent for run/resume, or another
 * vocabulary such as the sweep events, named by `eventNames`), forwards stderr text, and stops it
 * with SIGTERM then SIGKILL after a grace period. Node only (no vscode), unit-tested with a fake
 * CLI in test/host-trainerProcess.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TrainerEvent } from '../../common/runFormat';

/** Splits a stream of text chunks into complete lines (handles \r\n and split chunks). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }

  /** The unterminated last line, if any. */
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r.length ? [r] : [];
  }
}

/** The `event` names of TrainerEvent (`llava-kd run|resume --json`). */
export const TRAINER_EVENT_NAMES: ReadonlySet<string> = new Set(['started', 'step', 'eval', 'sample', 'checkpoint', 'stage-start', 'stage-done', 'finished', 'log', 'error']);

/** A stdout line as an event (one of `names`; TrainerEvent by default), or as plain text when it is not one (blank lines: null). */
export function parseTrainerLine<E extends { event: string } = TrainerEvent>(line: string, names: ReadonlySet<string> = TRAINER_EVENT_NAMES): { event: E } | { text: string } | null {
  const t = line.trim();
  if (!t) return null;
  if (t.startsWith('{')) {
    try {
      const o = JSON.parse(t) as { event?: unknown };
      if (o && typeof o === 'object' && typeof o.event === 'string' && names.has(o.event)) return { event: o as E };
    } catch {
      /* not JSON: plain text */
    }
  }
  return { text: line };
}

export interface TrainerProcessOptions {
  execPath: string;
  cliPath: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Grace period between SIGTERM and SIGKILL (default 10 s). */
  killTimeoutMs?: number;
  /** The `event` names of the command's JSON lines (default: TrainerEvent's). */
  eventNames?: ReadonlySet<string>;
}

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() was called before the exit. */
  stopRequested: boolean;
  /** True when SIGKILL had to be sent. */
  killed: boolean;
}

type Listener<T> = (v: T) => void;

export class TrainerProcess<E extends { event: string } = TrainerEvent> {
  private readonly child: ChildProcess;
  private readonly eventListeners: Listener<E>[] = [];
  private readonly eventNames: ReadonlySet<string>;
  private readonly textListeners: Listener<{ stream: 'stdout' | 'stderr'; text: string }>[] = [];
  private killTimer: NodeJS.Timeout | undefined;
  private stopRequested = false;
  private killed = false;
  private exitInfo: TrainerExit | undefined;
  /** Resolves when the process has exited (or failed to start). */
  readonly exited: Promise<TrainerExit>;
  readonly killTimeoutMs: number;

  constructor(opts: TrainerProcessOptions) {
    this.killTimeoutMs = opts.killTimeoutMs ?? 10_000;
    this.eventNames = opts.eventNames ?? TRAINER_EVENT_NAMES;
    this.child = spawn(opts.execPath, [opts.cliPath, ...opts.args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out = new LineSplitter();
    const err = new LineSplitter();
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => out.push(chunk).forEach((l) => this.handleStdout(l)));
    this.child.stderr!.on('data', (chunk: string) => err.push(chunk).forEach((l) => this.emitText('stderr', l)));
    this.exited = new Promise<TrainerExit>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        out.flush().forEach((l) => this.handleStdout(l));
        err.flush().forEach((l) => this.emitText('stderr', l));
        if (this.killTimer) clearTimeout(this.killTimer);
        this.exitInfo = { code, signal, stopRequested: this.stopRequested, killed: this.killed };
        resolve(this.exitInfo);
      };
      this.child.on('error', (e) => {
        this.emitText('stderr', `Could not start the trainer (${opts.execPath} ${opts.cliPath}): ${e.message}`);
        finish(null, null);
      });
      this.child.on('close', (code, signal) => finish(code, signal));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  onEvent(l: Listener<E>): void {
    this.eventListeners.push(l);
  }

  onText(l: Listener<{ stream: 'stdout' | 'stderr'; text: string }>): void {
    this.textListeners.push(l);
  }

  /** SIGTERM now (the trainer checkpoints and exits 130), SIGKILL when still alive after the grace period. */
  stop(): void {
    if (!this.running || this.stopRequested) return;
    this.stopRequested = true;
    this.child.kill('SIGTERM');
    this.killTimer = setTimeout(() => {
      if (this.running) {
        this.killed = true;
        this.child.kill('SIGKILL');
      }
    }, this.killTimeoutMs);
  }

  private handleStdout(line: string): void {
    const p = parseTrainerLine<E>(line, this.eventNames);
    if (!p) return;
    if ('event' in p) {
      for (const l of this.eventListeners) {
        try {
          l(p.event);
        } catch (e) {
          this.emitText('stderr', `event handler failed: ${(e as Error).message}`);
        }
      }
    } else this.emitText('stdout', p.text);
  }

  private emitText(stream: 'stdout' | 'stderr', text: string): void {
    for (const l of this.textListeners) l({ stream, text });
  }
}

/** Outcome of an exit, from the exit code (docs/cli.md: 0 ok, 130 stopped, 1 failed, 2 invalid input). */
export function exitOutcome(e: TrainerExit): 'completed' | 'stopped' | 'failed' | 'invalid' {
  if (e.code === 0) return 'completed';
  if (e.code === 130 || (e.stopRequested && (e.signal === 'SIGTERM' || e.signal === 'SIGKILL' || e.code === 143))) return 'stopped';
  if (e.code === 2) return 'invalid';
  return 'failed';
}
