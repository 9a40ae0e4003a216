/**
 * Reading run folders (see runFormat.ts) from the extension host: tolerant jsonl reading, an
 * incremental jsonl tailer, status.json validation, run listing and crash detection (a `running`
 * status whose process is gone).
 * Uses node:fs, so only the extension host and the CLI may import it: NOT the webviews.
 * No tfjs, no vscode.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { RunState, RunStatus } from './runFormat';

export interface JsonlError {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

export interface JsonlResult<T> {
  rows: T[];
  errors: JsonlError[];
  /** True when the file does not exist (yet); rows and errors are then empty. */
  missing?: boolean;
}

const NL = 0x0a;

/** Parse `text` (complete lines, '\n'-separated) into objects; bad lines go to `errors`. */
function parseLines<T>(text: string, firstLine: number, rows: T[], errors: JsonlError[], lastIsPartial: boolean): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const line = firstLine + i;
    if (raw.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      const partial = lastIsPartial && i === lines.length - 1;
      errors.push({
        line,
        message: partial
          ? `incomplete last line (still being written, or the writer stopped mid-line): ${(e as Error).message}`
          : `invalid JSON: ${(e as Error).message}`,
      });
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      errors.push({ line, message: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}` });
      continue;
    }
    rows.push(v as T);
  }
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/**
 * Read a whole jsonl file. Bad lines (corrupt, or a half-written last line) are skipped and reported
 * with their line numbers; blank lines are ignored. A missing file gives `{ rows: [], errors: [], missing: true }`.
 */
export function readJsonl<T>(file: string): JsonlResult<T> {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { rows: [], errors: [], missing: true };
    throw e;
  }
  const rows: T[] = [];
  const errors: JsonlError[] = [];
  const endsWithNewline = buf.byteLength > 0 && buf[buf.byteLength - 1] === NL;
  let text = stripBom(buf.toString('utf8'));
  if (endsWithNewline) text = text.slice(0, -1);
  if (text.length > 0) parseLines(text, 1, rows, errors, !endsWithNewline);
  return { rows, errors };
}

/** The key a metrics line is unique by: one line per (stage, step). */
export const metricsKey = (r: { stage?: string; step?: number }): string => `${r.stage}|${r.step}`;
/** The key a sample line is unique by: (stage, step, sample id). */
export const sampleKey = (r: { stage?: string; step?: number; id?: string }): string => `${r.stage}|${r.step}|${r.id}`;
/** The key an eval line is unique by: (stage, step, split, model). */
export const evalKey = (r: { stage?: string; step?: number; split?: string; model?: string }): string => `${r.stage}|${r.step}|${r.split}|${r.model}`;

/**
 * The last line of each key, in the order of those last lines. Runs resumed by versions that
 * kept the lines an interrupted process wrote after its last checkpoint hold such duplicates;
 * the resumed process's lines (the later ones) are the ones that count.
 */
export function lastPerKey<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const last = new Map<string, number>();
  rows.forEach((r, i) => last.set(key(r), i));
  return rows.filter((r, i) => last.get(key(r)) === i);
}

export interface JsonlTailResult<T> extends JsonlResult<T> {
  /** True when the file shrank, was replaced or deleted since the last read: the tail restarted from
   *  the beginning, so the caller should drop what it had and treat `rows` as the full content. */
  reset: boolean;
}

/**
 * Incremental reader of a growing jsonl file. Each `read()` returns only the complete lines appended
 * since the previous call; a partial last line is kept and returned once its '\n' arrives.
 */
export class JsonlTail<T> {
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private linesDone = 0;
  private ino: number | undefined;

  constructor(readonly file: string) {}

  /** Bytes of the file consumed so far (including a pending partial line). */
  get position(): number {
    return this.offset;
  }

  private restart(): void {
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    this.linesDone = 0;
    this.ino = undefined;
  }

  /**
   * Return the rows of newly completed lines. With `final: true` a pending last line without '\n' is
   * parsed too (use once the writer is known to have stopped).
   */
  read(opts: { final?: boolean } = {}): JsonlTailResult<T> {
    const rows: T[] = [];
    const errors: JsonlError[] = [];
    let reset = false;
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (this.offset > 0 || this.linesDone > 0) {
        this.restart();
        reset = true;
      }
      return { rows, errors, reset, missing: true };
    }
    let chunk: Buffer;
    try {
      const st = fs.fstatSync(fd);
      const replaced = this.ino !== undefined && st.ino !== 0 && st.ino !== this.ino;
      if (replaced || st.size < this.offset) {
        this.restart();
        reset = true;
      }
      this.ino = st.ino;
      const want = st.size - this.offset;
      chunk = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, chunk, got, want - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      chunk = chunk.subarray(0, got);
      this.offset += got;
    } finally {
      fs.closeSync(fd);
    }
    const buf = this.pending.byteLength ? Buffer.concat([this.pending, chunk]) : chunk;
    const lastNl = buf.lastIndexOf(NL);
    let complete: Buffer;
    if (opts.final) {
      complete = buf;
      this.pending = Buffer.alloc(0);
    } else {
      complete = buf.subarray(0, lastNl + 1);
      this.pending = Buffer.from(buf.subarray(lastNl + 1));
    }
    if (complete.byteLength > 0) {
      let text = complete.toString('utf8');
      if (this.linesDone === 0) text = stripBom(text);
      const endsWithNewline = text.endsWith('\n');
      if (endsWithNewline) text = text.slice(0, -1);
      parseLines(text, this.linesDone + 1, rows, errors, !endsWithNewline);
      this.linesDone += text.split('\n').length;
    }
    return { rows, errors, reset };
  }
}

// ---------------------------------------------------------------------------------------------
// status.json

export interface StatusError {
  ok: false;
  /** `missing`: no status.json (yet); `invalid`: unreadable, not JSON, or a field of the wrong type. */
  reason: 'missing' | 'invalid';
  file: string;
  message: string;
}

export type StatusResult = { ok: true; status: RunStatus } | StatusError;

const RUN_STATES: readonly RunState[] = ['running', 'completed', 'failed', 'stopped'];

/** Check the required fields of a parsed status; returns a problem description or null. */
function statusProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object';
  const o = v as Record<string, unknown>;
  for (const k of ['runId', 'experiment', 'backend', 'startedAt', 'updatedAt'] as const) {
    if (typeof o[k] !== 'string') return `field "${k}" must be a string, got ${JSON.stringify(o[k])}`;
  }
  if (!RUN_STATES.includes(o.state as RunState)) {
    return `field "state" must be one of ${RUN_STATES.join(', ')}, got ${JSON.stringify(o.state)}`;
  }
  for (const k of ['step', 'totalSteps', 'globalStep', 'globalTotalSteps', 'pid'] as const) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) return `field "${k}" must be a number, got ${JSON.stringify(o[k])}`;
  }
  for (const k of ['stages', 'completedStages'] as const) {
    const a = o[k];
    if (!Array.isArray(a) || !a.every((s) => typeof s === 'string')) return `field "${k}" must be an array of stage ids, got ${JSON.stringify(a)}`;
  }
  if (o.stage !== null && typeof o.stage !== 'string') return `field "stage" must be a stage id or null, got ${JSON.stringify(o.stage)}`;
  return null;
}

/** Read and validate `<runDir>/status.json`. Never throws for a missing or bad file. */
export function readStatus(runDir: string): StatusResult {
  const file = path.join(runDir, 'status.json');
  let text: string | undefined;
  let lastErr: unknown;
  // status.json is replaced by rename; on Windows a read racing the rename can fail briefly.
  for (let attempt = 0; attempt < 3 && text === undefined; attempt++) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      lastErr = e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing', file, message: `${file}: no status file` };
      if (code !== 'EBUSY' && code !== 'EPERM' && code !== 'EACCES') break;
    }
  }
  if (text === undefined) {
    return { ok: false, reason: 'invalid', file, message: `${file}: cannot be read: ${(lastErr as Error)?.message ?? 'unknown error'}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(stripBom(text));
  } catch (e) {
    return { ok: false, reason: 'invalid', file, message: `${file}: invalid JSON: ${(e as Error).message}` };
  }
  const problem = statusProblem(v);
  if (problem) return { ok: false, reason: 'invalid', file, message: `${file}: ${problem}` };
  return { ok: true, status: v as RunStatus };
}

// ---------------------------------------------------------------------------------------------
// Liveness

/** True when a process with this pid exists (signal 0 probe; EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const CRASHED_MESSAGE = 'trainer process ended without finishing (crashed or killed)';

export interface EffectiveState {
  state: RunState;
  error?: string;
  /** True when the status said `running` but its process is gone. */
  crashed: boolean;
}

/**
 * The state to show for a status: a `running` status whose pid is dead is reported as `failed`
 * with `CRASHED_MESSAGE`; any other status is taken as written, and so is one of a run on another
 * host (a sweep point on a Slurm compute node, status.json `job.host`: its pid means nothing here).
 */
export function effectiveState(status: RunStatus, isAlive: (pid: number) => boolean = isProcessAlive, host: string = hostname()): EffectiveState {
  const elsewhere = status.job?.host !== undefined && status.job.host !== host;
  if (status.state === 'running' && !elsewhere && !isAlive(status.pid)) {
    return { state: 'failed', error: CRASHED_MESSAGE, crashed: true };
  }
  return status.error !== undefined ? { state: status.state, error: status.error, crashed: false } : { state: status.state, crashed: false };
}

// ---------------------------------------------------------------------------------------------
// Listing runs

export interface CheckpointFile {
  name: string;
  path: string;
  size: number;
  /** Modification time, ISO string and epoch ms. */
  mtime: string;
  mtimeMs: number;
}

/** One run folder as listed from disk (the host's RunSummary in src/host/core/runModel.ts is built from it). */
export interface RunListing {
  runId: string;
  dir: string;
  /** The validated status, or null with `error` set. */
  status: RunStatus | null;
  error: StatusError | null;
  /** `effectiveState(status)` when the status is valid. */
  effective: EffectiveState | null;
  checkpoints: CheckpointFile[];
}

/** Epoch ms of a `YYYYMMDD-HHMMSS-xxxx` run id (local time), or NaN. */
function runIdTime(runId: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(runId);
  if (!m) return NaN;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]).getTime();
}

/** Files in `<runDir>/checkpoints/` (temp files of atomic writes excluded), sorted by name. */
export function listCheckpoints(runDir: string): CheckpointFile[] {
  const dir = path.join(runDir, 'checkpoints');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: CheckpointFile[] = [];
  for (const name of names.sort()) {
    if (/\.tmp-\d+-[0-9a-f]+$/.test(name)) continue;
    const p = path.join(dir, name);
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    out.push({ name, path: p, size: st.size, mtime: st.mtime.toISOString(), mtimeMs: st.mtimeMs });
  }
  return out;
}

/**
 * Summaries of every run folder under `<experimentDir>/runs/`, newest first (by status.startedAt,
 * else by the time in the run id). A missing runs folder gives [].
 */
export function listRuns(experimentDir: string, isAlive: (pid: number) => boolean = isProcessAlive): RunListing[] {
  const runsDir = path.resolve(experimentDir, 'runs');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  const keyed: { key: number; run: RunListing }[] = [];
  for (const ent of entries) {
    if (!ent.isDirectory()) continue;
    const dir = path.join(runsDir, ent.name);
    const res = readStatus(dir);
    const status = res.ok ? res.status : null;
    const run: RunListing = {
      runId: ent.name,
      dir,
      status,
      error: res.ok ? null : res,
      effective: status ? effectiveState(status, isAlive) : null,
      checkpoints: listCheckpoints(dir),
    };
    const started = status ? Date.parse(status.startedAt) : NaN;
    const key = Number.isFinite(started) ? started : runIdTime(ent.name);
    keyed.push({ key: Number.isFinite(key) ? key : -Infinity, run });
  }
  keyed.sort((a, b) => b.key - a.key || (a.run.runId < b.run.runId ? 1 : a.run.runId > b.run.runId ? -1 : 0));
  return keyed.map((k) => k.run);
}
