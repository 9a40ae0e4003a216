/**
 * The sweep commands: Run Sweep (the experiment from the tree, a CodeLens or a pick among those
 * with a `sweep` section; the engine from `llavaKd.sweepEngine`, asked when it is "ask"), Cancel
 * Sweep (a sweep row, or a pick among the running ones; confirmed first), and Open Point Output /
 * Open Point Errors on a point row (the stdout / stderr files its manifest records). The process
 * work is sweepManager.ts's, the decisions core/sweepModel.ts's and core/sweepEngine.ts's.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { readSweep } from '../common/sweepFormat';
import { isProcessAlive } from '../common/runReader';
import type { ExperimentSummary } from './core/runModel';
import { decideEngine, findOnPath, type SweepEngineSetting } from './core/sweepEngine';
import { canCancel, hasSweepSection, pointLogFile, pointName, pointsPhrase, summarizeSweep, type SweepSummary } from './core/sweepModel';
import { progressPhrase, sweepTitle } from './core/sweepProgress';
import type { TreeNodeModel } from './core/treeModel';
import { pickExperiment } from './pickers';
import type { RunStore } from './runStore';
import type { ActiveSweep, SweepManager } from './sweepManager';
import { requireTrust } from './trainerManager';

export interface SweepCommandDeps {
  store: RunStore;
  sweeps: SweepManager;
  log: vscode.LogOutputChannel;
  /** The experiment file named by a command's argument (commands.ts argExperimentFile). */
  experimentFileOf: (a?: unknown) => string | undefined;
}

const RUN_TITLE = 'LLaVA-KD: Run Sweep';
const CANCEL_TITLE = 'LLaVA-KD: Cancel Sweep';
const EXAMPLE = '"sweep": { "grid": { "distill.temperature": [1, 2] }, "seeds": 2 }';

const isNode = (x: unknown): x is TreeNodeModel => typeof x === 'object' && x !== null && 'kind' in x && 'contextValue' in x;

function hasSweep(file: string): boolean {
  try {
    return hasSweepSection(fs.readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export class SweepCommands {
  constructor(private readonly d: SweepCommandDeps) {}

  // ------------------------------------------------------------------------------- run

  async run(a?: unknown): Promise<void> {
    if (!(await requireTrust('A sweep'))) return;
    const exp = await this.sweepExperiment(a);
    if (!exp) return;
    const already = this.d.sweeps.byExperiment(exp.file);
    if (already) {
      const pick = await vscode.window.showInformationMessage(`LLaVA-KD: the sweep of ${exp.name} is already running here (${progressPhrase(already.progress)}).`, 'Cancel Sweep');
      if (pick) await this.confirmCancelOurs(already);
      return;
    }
    const engine = await this.engine();
    if (!engine) return;
    if (this.d.sweeps.start(exp, engine)) this.d.store.scheduleRefresh(500);
  }

  /** The experiment to sweep: the argument's (it must have a `sweep` section), else one picked among those that have one. */
  private async sweepExperiment(a: unknown): Promise<ExperimentSummary | undefined> {
    await this.d.store.ready();
    const file = this.d.experimentFileOf(a);
    if (file) {
      const exp = this.d.store.findExperiment(file) ?? (fs.existsSync(file) ? this.d.store.experimentAt(file) : undefined);
      if (!exp) {
        void vscode.window.showErrorMessage(`LLaVA-KD: ${file} does not exist.`);
        return undefined;
      }
      if (hasSweep(exp.file)) return exp;
      const pick = await vscode.window.showInformationMessage(`LLaVA-KD: ${vscode.workspace.asRelativePath(exp.file)} has no "sweep" section, so there is nothing to sweep. Add one, e.g. ${EXAMPLE}.`, 'Open File');
      if (pick) await vscode.window.showTextDocument(vscode.Uri.file(exp.file));
      return undefined;
    }
    const all = this.d.store.experiments;
    const among = all.filter((e) => hasSweep(e.file));
    if (all.length && !among.length) {
      const pick = await vscode.window.showInformationMessage(`LLaVA-KD: no kd-experiment.json of this workspace has a "sweep" section. Add one, e.g. ${EXAMPLE}.`, 'Open Experiment');
      if (pick) await vscode.commands.executeCommand('llavaKd.openExperiment');
      return undefined;
    }
    return pickExperiment(this.d.store, RUN_TITLE, among);
  }

  /** The engine of the new sweep (setting `llavaKd.sweepEngine`), asked for when it is "ask". */
  private async engine(): Promise<'local' | 'slurm' | undefined> {
    const setting = vscode.workspace.getConfiguration('llavaKd').get<SweepEngineSetting>('sweepEngine') ?? 'ask';
    const sbatch = findOnPath('sbatch', process.env.PATH, isExecutable, process.platform, process.env.PATHEXT);
    const d = decideEngine(setting, sbatch);
    if (d.kind === 'use') return d.engine;
    if (d.kind === 'refuse') {
      const pick = await vscode.window.showErrorMessage(`LLaVA-KD: ${d.message}`, 'Open Settings');
      if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'llavaKd.sweepEngine');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(d.choices, { title: RUN_TITLE, placeHolder: d.placeHolder, ignoreFocusOut: true });
    return pick?.engine;
  }

  // ------------------------------------------------------------------------------- cancel

  async cancel(a?: unknown): Promise<void> {
    await this.d.store.ready();
    const dir = isNode(a) ? a.sweepDir : typeof a === 'string' ? a : undefined;
    if (dir) return this.cancelDir(dir);
    const ours = this.d.sweeps.sweeps;
    const others = this.d.store.allSweeps().filter(({ sweep }) => canCancel(sweep) && !this.d.sweeps.bySweepDir(sweep.dir));
    const items = [
      ...ours.map((s) => ({ label: `$(sync~spin) ${sweepTitle(s.progress)}`, description: `${s.progress.experimentName} · ${s.progress.engine} · ${progressPhrase(s.progress)}`, go: () => this.confirmCancelOurs(s) })),
      ...others.map(({ exp, sweep }) => ({ label: `$(terminal) ${sweep.manifest?.name ?? sweep.id}`, description: `${exp.name} · ${sweep.manifest?.engine ?? '?'} · ${pointsPhrase(sweep.manifest?.points ?? [])} · not started from this window`, go: () => this.cancelDir(sweep.dir) })),
    ];
    if (!items.length) {
      void vscode.window.showInformationMessage('LLaVA-KD: no sweep is running.');
      return;
    }
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: CANCEL_TITLE, placeHolder: 'Sweep to cancel' });
    if (pick) await pick.go();
  }

  private async cancelDir(dir: string): Promise<void> {
    const ours = this.d.sweeps.bySweepDir(dir);
    if (ours) return this.confirmCancelOurs(ours);
    const s = summarizeSweep(readSweep(dir), os.hostname(), isProcessAlive);
    if (!s.manifest) {
      void vscode.window.showErrorMessage(`LLaVA-KD: ${s.error ?? `${dir}: no sweep.json`}`);
      return;
    }
    if (!canCancel(s)) {
      void vscode.window.showInformationMessage(`LLaVA-KD: sweep ${s.manifest.name} is not running (${s.state}: ${pointsPhrase(s.manifest.points)}).`);
      return;
    }
    if (!(await this.confirm(s.manifest.name, s.manifest.engine, pointsPhrase(s.manifest.points), s))) return;
    const err = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LLaVA-KD: cancelling sweep ${s.manifest.name}…` }, () => this.d.sweeps.cancelExternal(dir));
    if (err) void vscode.window.showErrorMessage(`LLaVA-KD: cancelling sweep ${s.manifest.name} failed: ${err}`, 'Show Log').then((p) => p && this.d.log.show(true));
    else void vscode.window.showInformationMessage(`LLaVA-KD: sweep ${s.manifest.name} cancelled.`);
    this.d.store.scheduleRefresh(500);
  }

  private async confirmCancelOurs(s: ActiveSweep): Promise<void> {
    if (await this.confirm(sweepTitle(s.progress), s.progress.engine, progressPhrase(s.progress))) this.d.sweeps.cancel(s);
  }

  /** The modal before a cancel, naming where the sweep is and what happens to its points. */
  private async confirm(name: string, engine: string, phrase: string, other?: SweepSummary): Promise<boolean> {
    const where = other?.manifest?.followerHost && other.manifest.followerHost !== os.hostname() ? ` It is followed from ${other.manifest.followerHost}.` : '';
    const how = engine === 'slurm' ? 'Its Slurm jobs are cancelled (scancel)' : 'Its running points are stopped (each saves a resume checkpoint)';
    const yes: vscode.MessageItem = { title: 'Cancel Sweep' };
    const pick = await vscode.window.showWarningMessage(`Cancel sweep ${name} (${phrase})?`, {
      modal: true,
      detail: `${how} and every unfinished point is recorded cancelled; completed points are kept. Run Sweep again on the unchanged file resumes it.${where}`,
    }, yes, { title: 'Keep Running', isCloseAffordance: true });
    return pick === yes;
  }

  // ------------------------------------------------------------------------------- point logs

  async openPointLog(a: unknown, stream: 'stdout' | 'stderr'): Promise<void> {
    const what = stream === 'stdout' ? 'Open Point Output' : 'Open Point Errors';
    if (!isNode(a) || !a.sweepDir || a.pointIndex === undefined) {
      void vscode.window.showInformationMessage(`LLaVA-KD: ${what} works on a point of a sweep in the Experiments view.`);
      return;
    }
    const r = readSweep(a.sweepDir);
    if (!r.ok) {
      void vscode.window.showErrorMessage(`LLaVA-KD: ${r.error}`);
      return;
    }
    const f = pointLogFile(r.manifest, a.pointIndex, stream);
    if ('error' in f) {
      void vscode.window.showWarningMessage(`LLaVA-KD: ${f.error}.`);
      return;
    }
    if (!fs.existsSync(f.file)) {
      void vscode.window.showWarningMessage(`LLaVA-KD: the ${stream} file of ${pointName(a.pointIndex)} (${f.file}) does not exist: the point has not written it, or it was moved or deleted.`);
      return;
    }
    await vscode.window.showTextDocument(vscode.Uri.file(f.file), { preview: true });
  }
}
