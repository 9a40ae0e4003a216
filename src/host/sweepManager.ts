/**
 * Runs `llava-kd sweep <file> --engine … --json` child processes (several at once, beside any
 * training), started the way trainings are (trainerManager.ts cliProcessOptions); follows their
 * JSON lines (core/sweepProgress.ts) for a status-bar item, and when one exits says how it ended
 * with a button to the dashboard on the sweep's runs. Cancels a sweep: SIGTERM to its process
 * when this window started it, else `llava-kd sweep-cancel <dir>`. Binds core logic to vscode.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SWEEP_EVENT_NAMES, type SweepEvent } from '../common/sweepEvents';
import { readSweep, type SweepEngine } from '../common/sweepFormat';
import { actionTitle, buildCliArgs, type TrainerAction } from './core/cliArgs';
import { sweepRunDirs } from './core/sweepModel';
import { applySweepEvent, newSweepProgress, progressPhrase, pushStderr, seedFromManifest, sweepExitReport, sweepStatusText, sweepTitle, type SweepProgress, type SweepReportAction } from './core/sweepProgress';
import { TrainerProcess, type TrainerExit } from './core/trainerProcess';
import { cliProcessOptions, refuseInvalidExperiment, type TrainerManagerDeps } from './trainerManager';

export interface ActiveSweep {
  id: number;
  progress: SweepProgress;
  proc: TrainerProcess<SweepEvent>;
}

export interface SweepManagerDeps extends Pick<TrainerManagerDeps, 'extensionPath' | 'globalStoragePath' | 'log'> {
  /** Called when a sweep folder appears, a point changes or a sweep process ends (the tree refreshes). */
  onSweepsChanged: () => void;
}

/** Grace between SIGTERM and SIGKILL of a sweep: it stops its points (each checkpoints) or scancels, then records them. */
const SWEEP_KILL_TIMEOUT_MS = 60_000;

export class SweepManager implements vscode.Disposable {
  private readonly active = new Map<number, ActiveSweep>();
  private nextId = 1;
  private readonly statusBar: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly deps: SweepManagerDeps) {
    this.statusBar = vscode.window.createStatusBarItem('llavaKd.sweep', vscode.StatusBarAlignment.Left, 49);
    this.statusBar.name = 'LLaVA-KD Sweep';
  }

  get sweeps(): ActiveSweep[] {
    return [...this.active.values()];
  }

  /** Our sweep of this folder (known from its `sweep-started` line on). */
  bySweepDir(dir: string): ActiveSweep | undefined {
    const norm = path.resolve(dir);
    return this.sweeps.find((s) => s.progress.sweepDir && path.resolve(s.progress.sweepDir) === norm);
  }

  byExperiment(file: string): ActiveSweep | undefined {
    const norm = path.resolve(file);
    return this.sweeps.find((s) => path.resolve(s.progress.experimentFile) === norm);
  }

  /**
   * Starts the sweep of an experiment file on `engine` (trust is the caller's to check). Refused
   * when the file does not validate (the notice points to Problems) or the bundle is missing.
   */
  start(exp: { file: string; dir: string; name: string }, engine: SweepEngine): ActiveSweep | undefined {
    if (refuseInvalidExperiment(exp.file, this.deps.log)) return undefined;
    const action: TrainerAction = { kind: 'sweep', experimentFile: exp.file, engine };
    const opts = cliProcessOptions(this.deps, buildCliArgs(action), exp.dir);
    if (!opts) return undefined;
    this.deps.log.info(`Starting: ${opts.execPath} ${opts.cliPath} ${opts.args.join(' ')} (cwd ${exp.dir})`);
    const proc = new TrainerProcess<SweepEvent>({ ...opts, eventNames: SWEEP_EVENT_NAMES, killTimeoutMs: SWEEP_KILL_TIMEOUT_MS });
    const s: ActiveSweep = { id: this.nextId++, progress: newSweepProgress(exp.file, exp.name, engine), proc };
    this.active.set(s.id, s);
    const tag = (): string => `[sweep ${s.progress.sweepId ?? `#${s.id}`}]`;
    proc.onText(({ stream, text }) => {
      if (stream === 'stderr') pushStderr(s.progress, text);
      this.deps.log.info(`${tag()} ${text}`);
    });
    proc.onEvent((e) => this.onEvent(s, e, tag()));
    void proc.exited.then((exit) => this.onExit(s, exit));
    this.update();
    this.deps.log.info(`${tag()} ${actionTitle(action)} of ${exp.file}`);
    return s;
  }

  private onEvent(s: ActiveSweep, e: SweepEvent, tag: string): void {
    applySweepEvent(s.progress, e);
    switch (e.event) {
      case 'sweep-started': {
        const r = readSweep(e.sweepDir);
        if (r.ok) seedFromManifest(s.progress, r.manifest);
        this.deps.log.info(`${tag} started in ${e.sweepDir} (${e.engine}, ${e.points} points, ${e.skipped} already completed)`);
        this.deps.onSweepsChanged();
        break;
      }
      case 'sweep-point':
        this.deps.log.info(`${tag} point ${e.index}: ${e.state}${e.jobId ? ` (job ${e.jobId})` : ''}${e.runDir ? ` ${e.runDir}` : ''}`);
        this.deps.onSweepsChanged();
        break;
      case 'sweep-finished':
        this.deps.log.info(`${tag} finished: ${e.state}`);
        break;
      case 'log':
        if (e.level === 'warn') this.deps.log.warn(`${tag} ${e.message}`);
        else this.deps.log.info(`${tag} ${e.message}`);
        break;
      case 'error':
        this.deps.log.error(`${tag} ${e.message}`);
        break;
    }
    this.update();
  }

  /** The sweep's run folders on disk (from its manifest, else those its events named). */
  private runDirsOf(p: SweepProgress): string[] {
    const r = p.sweepDir ? readSweep(p.sweepDir) : undefined;
    if (r?.ok) return sweepRunDirs({ dir: r.dir, manifest: r.manifest }, (d) => fs.existsSync(d));
    return [...p.runDirs.values()].filter((d) => fs.existsSync(d));
  }

  private onExit(s: ActiveSweep, exit: TrainerExit): void {
    this.active.delete(s.id);
    this.update();
    this.deps.onSweepsChanged();
    const p = s.progress;
    this.deps.log.info(`[sweep ${p.sweepId ?? `#${s.id}`}] exited: code ${exit.code}, signal ${exit.signal ?? 'none'}`);
    const r = p.sweepDir ? readSweep(p.sweepDir) : undefined;
    if (r?.ok) seedFromManifest(p, r.manifest);
    const runDirs = this.runDirsOf(p);
    const report = sweepExitReport(p, exit, runDirs.length > 0, vscode.workspace.asRelativePath(p.experimentFile));
    const show = report.severity === 'error' ? vscode.window.showErrorMessage : report.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(report.message, ...report.actions).then((pick: SweepReportAction | undefined) => {
      if (pick === 'Open Dashboard') void vscode.commands.executeCommand('llavaKd.openDashboard', runDirs);
      else if (pick === 'Show Log') this.deps.log.show(true);
      else if (pick === 'Open Config') {
        const at = report.line ? new vscode.Range(report.line - 1, 0, report.line - 1, 0) : undefined;
        void vscode.window.showTextDocument(vscode.Uri.file(p.experimentFile), at ? { selection: at } : {});
      }
    });
  }

  /** Cancels our sweep: SIGTERM (the CLI stops its points or scancels, records them cancelled, exits 130). */
  cancel(s: ActiveSweep): void {
    this.deps.log.info(`[sweep ${s.progress.sweepId ?? `#${s.id}`}] cancel requested: SIGTERM (SIGKILL after ${SWEEP_KILL_TIMEOUT_MS / 1000} s)`);
    s.proc.stop();
  }

  /** Cancels a sweep another process runs (`sweep-cancel <dir>`); resolves with its error, or undefined when it worked. */
  async cancelExternal(sweepDir: string): Promise<string | undefined> {
    const opts = cliProcessOptions(this.deps, buildCliArgs({ kind: 'sweep-cancel', sweepDir }), path.dirname(sweepDir));
    if (!opts) return 'the trainer bundle is missing';
    this.deps.log.info(`Starting: ${opts.execPath} ${opts.cliPath} ${opts.args.join(' ')}`);
    const proc = new TrainerProcess<SweepEvent>({ ...opts, eventNames: SWEEP_EVENT_NAMES });
    let error: string | undefined;
    const tail: string[] = [];
    proc.onEvent((e) => {
      if (e.event === 'error') error = e.message;
      if (e.event === 'log' || e.event === 'error') this.deps.log.info(`[sweep-cancel] ${e.message}`);
    });
    proc.onText(({ stream, text }) => {
      if (stream === 'stderr') tail.push(text);
      this.deps.log.info(`[sweep-cancel] ${text}`);
    });
    const exit = await proc.exited;
    this.deps.onSweepsChanged();
    if (exit.code === 0) return undefined;
    return error ?? (tail.slice(-2).join(' ').trim() || `sweep-cancel exited with code ${exit.code ?? exit.signal}`);
  }

  private update(): void {
    this.changed.fire();
    const list = this.sweeps.map((s) => s.progress);
    if (!list.length) {
      this.statusBar.hide();
      return;
    }
    this.statusBar.text = sweepStatusText(list);
    const md = new vscode.MarkdownString();
    for (const p of list) md.appendMarkdown(`**Sweep `).appendText(sweepTitle(p)).appendMarkdown(`** `).appendText(`(${p.experimentName}, ${p.engine}): ${progressPhrase(p)}`).appendMarkdown('\n\n');
    this.statusBar.tooltip = md.appendText('Click to open the dashboard on its runs.');
    const dirs = this.runDirsOf(list[0]);
    this.statusBar.command = dirs.length ? { command: 'llavaKd.openDashboard', title: 'Open Dashboard', arguments: [dirs] } : { command: 'llavaKd.experiments.focus', title: 'Show Experiments' };
    this.statusBar.accessibilityInformation = { label: `LLaVA-KD sweep ${sweepTitle(list[0])}: ${progressPhrase(list[0])}` };
    this.statusBar.show();
  }

  dispose(): void {
    for (const s of this.active.values()) s.proc.stop();
    this.statusBar.dispose();
    this.changed.dispose();
  }
}
