/**
 * Finds the experiments of the workspace (folders holding kd-experiment.json), their runs
 * (with the user's run-meta.json annotations) and their sweeps (sweeps/<id>/sweep.json),
 * keeps them current from file-system events (debounced; also for runs and sweeps started with
 * the CLI in a terminal) and re-checks running runs and sweeps every few seconds so a dead
 * trainer shows as failed, a dead sweep follower as stopped, and running points' times move on.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser/lib/esm/main.js';
import { EXPERIMENT_FILE } from '../common/runFormat';
import { RUN_META_FILE } from '../common/runMeta';
import { SWEEP_FILE, SWEEPS_DIR } from '../common/sweepFormat';
import { findRun, type ExperimentSummary, type RunSummary } from './core/runModel';
import { readRunSummary, runsOf } from './core/runSummaries';
import { sweepsOf, type SweepSummary } from './core/sweepModel';

/** Name of an experiment: its `name` field, else its folder name. */
export function experimentName(file: string): string {
  try {
    const v = parseJsonc(fs.readFileSync(file, 'utf8')) as { name?: unknown } | undefined;
    if (v && typeof v.name === 'string' && v.name.trim()) return v.name.trim();
  } catch {
    /* unreadable: fall back to the folder */
  }
  return path.basename(path.dirname(file));
}

export class RunStore implements vscode.Disposable {
  private exps: ExperimentSummary[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after the experiments/runs were re-read. */
  readonly onDidChange = this.changed.event;
  private readonly runFilesChanged = new vscode.EventEmitter<string>();
  /** Fires with a run folder whose metrics/eval/samples file changed. */
  readonly onDidChangeRunFiles = this.runFilesChanged.event;
  private readonly disposables: vscode.Disposable[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private firstLoad: Promise<void>;
  /** Experiment files found by the last search (re-searched when one is created/deleted). */
  private files: vscode.Uri[] | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    const watch = (glob: string, onEvent: (uri: vscode.Uri) => void): void => {
      const w = vscode.workspace.createFileSystemWatcher(glob);
      w.onDidCreate(onEvent, undefined, this.disposables);
      w.onDidChange(onEvent, undefined, this.disposables);
      w.onDidDelete(onEvent, undefined, this.disposables);
      this.disposables.push(w);
    };
    const refresh = (): void => this.scheduleRefresh();
    watch(`**/${EXPERIMENT_FILE}`, () => {
      this.files = undefined;
      this.scheduleRefresh();
    });
    watch('**/runs/*/status.json', refresh);
    watch('**/runs/*/checkpoints/*.safetensors', refresh);
    watch(`**/runs/*/${RUN_META_FILE}`, refresh);
    watch('**/runs/*', refresh);
    // sweep.json is rewritten (atomically) at every point's change while a sweep runs.
    watch(`**/${SWEEPS_DIR}/*/${SWEEP_FILE}`, refresh);
    watch('**/runs/*/{metrics,eval,samples}.jsonl', (uri) => this.runFilesChanged.fire(path.dirname(uri.fsPath)));
    // A file written right after its folder was created (`llava-kd init` in a terminal, a copied
    // experiment) may reach no watcher: the folder's own creation does, so search again then.
    const folders = vscode.workspace.createFileSystemWatcher('**/*', false, true, true);
    folders.onDidCreate((uri) => {
      if (uri.scheme !== 'file' || /[\\/](runs|sweeps|node_modules|\.git)([\\/]|$)/.test(uri.fsPath)) return;
      fs.stat(uri.fsPath, (err, st) => {
        if (err || !st.isDirectory()) return;
        this.files = undefined;
        this.scheduleRefresh();
      });
    }, undefined, this.disposables);
    this.disposables.push(folders);
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      this.files = undefined;
      this.scheduleRefresh();
    }, undefined, this.disposables);
    // A trainer killed hard never rewrites its status, nor a sweep follower its manifest: re-check
    // pids of running runs and sweeps (and let running points' elapsed times move on).
    this.poll = setInterval(() => {
      if (this.exps.some((e) => e.runs.some((r) => r.status?.state === 'running') || e.sweeps?.some((s) => s.state === 'running'))) this.scheduleRefresh(0);
    }, 5000);
    this.firstLoad = this.refresh();
  }

  get experiments(): ExperimentSummary[] {
    return this.exps;
  }

  /** Resolves once the first scan finished. */
  ready(): Promise<void> {
    return this.firstLoad;
  }

  scheduleRefresh(delayMs = 300): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refresh();
    }, delayMs);
  }

  /** Searches the workspace for experiment files again, then re-reads everything. */
  rescan(): Promise<void> {
    this.files = undefined;
    return this.refresh();
  }

  /** Re-reads everything now (coalesces concurrent calls). */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          this.exps = await this.scan();
        } catch (e) {
          this.log.error(`Scanning experiments failed: ${(e as Error).message}`);
        }
      } while (this.again);
      this.refreshing = undefined;
      this.changed.fire();
    })();
    return this.refreshing;
  }

  private async scan(): Promise<ExperimentSummary[]> {
    if (!vscode.workspace.workspaceFolders?.length) return [];
    if (!this.files) this.files = await vscode.workspace.findFiles(`**/${EXPERIMENT_FILE}`, '**/node_modules/**', 500);
    const files = this.files.filter((u) => fs.existsSync(u.fsPath));
    const out: ExperimentSummary[] = [];
    for (const uri of files) {
      if (uri.scheme !== 'file') continue;
      const file = uri.fsPath;
      const dir = path.dirname(file);
      let runs: RunSummary[] = [];
      try {
        runs = runsOf(dir);
      } catch (e) {
        this.log.warn(`Reading runs of ${dir} failed: ${(e as Error).message}`);
      }
      const sweeps = sweepsOf(dir);
      const rel = vscode.workspace.asRelativePath(dir, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
      const folderName = vscode.workspace.getWorkspaceFolder(uri)?.name ?? path.basename(dir);
      const label = !rel || rel === dir || rel === '.' ? folderName : rel;
      out.push({ file, dir, name: experimentName(file), label, runs, sweeps });
    }
    return out;
  }

  findRun(runDir: string): { exp: ExperimentSummary; run: RunSummary } | undefined {
    return findRun(this.exps, runDir);
  }

  findExperiment(file: string): ExperimentSummary | undefined {
    const norm = path.resolve(file);
    return this.exps.find((e) => path.resolve(e.file) === norm);
  }

  /** The experiment of a run folder (`<exp>/runs/<id>`), from the scan or from the run's status. */
  experimentOfRun(runDir: string): ExperimentSummary {
    const hit = this.findRun(runDir);
    if (hit) return hit.exp;
    const expDir = path.dirname(path.dirname(runDir));
    const file = readRunSummary(runDir).status?.experiment ?? path.join(expDir, EXPERIMENT_FILE);
    return this.experimentAt(file);
  }

  /** The scanned experiment of a file, else one read now (a file outside the workspace scan). */
  experimentAt(file: string): ExperimentSummary {
    const found = this.findExperiment(file);
    if (found) return found;
    const dir = path.dirname(file);
    let runs: RunSummary[] = [];
    try {
      runs = runsOf(dir);
    } catch {
      /* no runs folder */
    }
    return { file, dir, name: fs.existsSync(file) ? experimentName(file) : path.basename(dir), label: path.basename(dir), runs, sweeps: sweepsOf(dir) };
  }

  /** Every sweep with its experiment, newest first per experiment. */
  allSweeps(): { exp: ExperimentSummary; sweep: SweepSummary }[] {
    return this.exps.flatMap((exp) => (exp.sweeps ?? []).map((sweep) => ({ exp, sweep })));
  }

  /** Every run with its experiment, newest first per experiment. */
  allRuns(): { exp: ExperimentSummary; run: RunSummary }[] {
    return this.exps.flatMap((exp) => exp.runs.map((run) => ({ exp, run })));
  }

  dispose(): void {
    clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
    this.runFilesChanged.dispose();
  }
}
