/**
 * Handlers of every LLaVA-KD command. Each accepts what VS Code passes from the palette (nothing),
 * a tree row (a node model; with a multi-selection also the selected nodes), a CodeLens (the
 * experiment file's Uri) or another command / webview (a run folder or experiment file path),
 * and when nothing suitable exists says so with a way forward. Renaming, tagging, noting and
 * deleting runs are in runMetaCommands.ts, the sweep commands in sweepCommands.ts.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { EXPERIMENT_FILE } from '../common/runFormat';
import { PRESETS, PRESET_NAMES } from '../trainer/config';
import { STAGE_SETS, buildCliArgs, experimentPlan, trainerEnv, type TrainerAction } from './core/cliArgs';
import { readExperimentConfig } from './core/configSources';
import { installGpuBackend } from './gpuBackend';
import { manageTeachers } from './teacherStoreCommand';
import { pickConfigSources, pickExperiment, pickRun, pickRuns } from './pickers';
import { RunMetaCommands } from './runMetaCommands';
import { SweepCommands } from './sweepCommands';
import type { SweepManager } from './sweepManager';
import { fromRequirements, lastRun, resumableRuns, runsWithCheckpoints, stagesFrom, type ExperimentSummary, type RunSummary } from './core/runModel';
import type { RunStore } from './runStore';
import { configuredBackend, requireTrust, type ActiveTraining, type TrainerManager } from './trainerManager';
import type { TreeNodeModel } from './core/treeModel';
import type { PanelKind } from '../common/messages';
import { isProcessAlive } from '../common/runReader';
import { ckptName, type StagePlan } from '../common/stagePlan';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  store: RunStore;
  trainer: TrainerManager;
  sweeps: SweepManager;
  /** Opens (or re-targets) the panel of `kind` on these run folders / experiment files (the views layer does it). */
  showPanel: (kind: PanelKind, sources: string[]) => void;
  /** Removes a run folder from every open panel. */
  dropFromPanels: (source: string) => void;
  log: vscode.LogOutputChannel;
}

const isNode = (x: unknown): x is TreeNodeModel => typeof x === 'object' && x !== null && 'kind' in x && 'contextValue' in x;

/** Run folders named by a command's arguments (tree node(s) — a sweep or group row: its runs —, path string(s), arrays). */
export function argRunDirs(a?: unknown, b?: unknown): string[] {
  const out: string[] = [];
  const add = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(add);
    else if (isNode(x) && x.runDir) out.push(x.runDir);
    else if (isNode(x) && x.runDirs) out.push(...x.runDirs);
    else if (typeof x === 'string' && path.basename(x) !== EXPERIMENT_FILE) out.push(x);
  };
  if (Array.isArray(b) && b.length > 1) add(b);
  else add(a);
  return [...new Set(out)];
}

/** Experiment file named by a command's argument (tree node, Uri, path). */
export function argExperimentFile(a?: unknown): string | undefined {
  if (isNode(a)) return a.experimentFile;
  if (a instanceof vscode.Uri) return a.fsPath;
  if (typeof a === 'string' && path.basename(a) === EXPERIMENT_FILE) return a;
  return undefined;
}

export class Commands {
  constructor(private readonly d: CommandDeps) {}

  register(): vscode.Disposable[] {
    const r = (id: string, f: (...args: unknown[]) => unknown): vscode.Disposable =>
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await f(...args);
        } catch (e) {
          this.d.log.error(`${id}: ${(e as Error).stack ?? e}`);
          void vscode.window.showErrorMessage(`LLaVA-KD: ${(e as Error).message}`, 'Show Log').then((p) => p && this.d.log.show(true));
        }
      });
    const meta = new RunMetaCommands({ ...this.d, runDirsOf: argRunDirs });
    const sweep = new SweepCommands({ ...this.d, experimentFileOf: argExperimentFile });
    return [
      r('llavaKd.runSweep', (a) => sweep.run(a)),
      r('llavaKd.cancelSweep', (a) => sweep.cancel(a)),
      r('llavaKd.openPointOutput', (a) => sweep.openPointLog(a, 'stdout')),
      r('llavaKd.openPointErrors', (a) => sweep.openPointLog(a, 'stderr')),
      r('llavaKd.renameRun', (a) => meta.rename(a)),
      r('llavaKd.editRunTags', (a) => meta.editTags(a)),
      r('llavaKd.editRunNote', (a) => meta.editNote(a)),
      r('llavaKd.deleteRun', (a, b) => meta.delete(a, b)),
      r('llavaKd.startDistilledFineTuning', (a, b) => this.startFromRun('dft', a, b)),
      r('llavaKd.startDistilledPreTraining', (a, b) => this.startFromRun('dpt', a, b)),
      r('llavaKd.startSupervisedFineTuning', (a, b) => this.startFromRun('sft', a, b)),
      r('llavaKd.runFullPipeline', (a) => this.runFullPipeline(a)),
      r('llavaKd.trainTeacher', (a) => this.trainTeacher(a)),
      r('llavaKd.manageTeachers', () => manageTeachers({ extensionPath: this.d.context.extensionPath, globalStoragePath: this.d.context.globalStorageUri.fsPath, log: this.d.log, trainTeacher: () => this.trainTeacher() })),
      r('llavaKd.runStage', (a) => this.runStage(a)),
      r('llavaKd.stopTraining', (a) => this.stop(a)),
      r('llavaKd.resumeRun', (a) => this.resume(a)),
      r('llavaKd.openDashboard', (a, b) => this.openDashboard(a, b)),
      r('llavaKd.showSamples', (a, b) => this.showSamples(a, b)),
      r('llavaKd.compareConfigs', (a, b) => this.compareConfigs(a, b)),
      r('llavaKd.compareWithLastRun', (a) => this.compareWithLastRun(a)),
      r('llavaKd.newExperiment', () => this.newExperiment()),
      r('llavaKd.installGpuBackend', () => installGpuBackend(this.d.context.globalStorageUri, this.d.log)),
      r('llavaKd.showLog', (a) => this.showLog(a)),
      r('llavaKd.refresh', () => this.d.store.rescan()),
      r('llavaKd.revealInExplorer', (a) => this.reveal(a, false)),
      r('llavaKd.revealInOS', (a) => this.reveal(a, true)),
      r('llavaKd.openExperiment', (a) => this.openExperiment(a)),
    ];
  }

  // ------------------------------------------------------------------------------- helpers

  private async experimentFor(a: unknown, title: string): Promise<ExperimentSummary | undefined> {
    await this.d.store.ready();
    const file = argExperimentFile(a) ?? (isNode(a) && a.runDir ? this.d.store.experimentOfRun(a.runDir).file : undefined);
    if (file) {
      const exp = this.d.store.findExperiment(file);
      if (exp) return exp;
      if (fs.existsSync(file)) return this.d.store.experimentAt(file);
    }
    return pickExperiment(this.d.store, title);
  }

  /** Stage ids of the experiment's own plan (its resolved config), or undefined when it does not resolve. */
  private planOf(exp: ExperimentSummary): string[] | undefined {
    return this.fullPlanOf(exp)?.map((s) => s.id);
  }

  private fullPlanOf(exp: ExperimentSummary): StagePlan[] | undefined {
    const r = readExperimentConfig(exp.file);
    return r.resolved ? experimentPlan(r.config) : undefined;
  }

  private async launch(action: TrainerAction, exp: ExperimentSummary): Promise<void> {
    const t = await this.d.trainer.start(action, exp.dir, exp.name);
    if (t) this.d.store.scheduleRefresh(500);
  }

  // ------------------------------------------------------------------------------- training

  async runFullPipeline(a?: unknown): Promise<void> {
    if (!(await requireTrust('Training'))) return;
    const exp = await this.experimentFor(a, 'LLaVA-KD: Run Full Pipeline');
    if (!exp) return;
    await this.launch({ kind: 'run', experimentFile: exp.file, backend: configuredBackend() }, exp);
  }

  async trainTeacher(a?: unknown): Promise<void> {
    if (!(await requireTrust('Training'))) return;
    const exp = await this.experimentFor(a, 'LLaVA-KD: Train Teacher');
    if (!exp) return;
    await this.launch({ kind: 'run', experimentFile: exp.file, stages: STAGE_SETS.teacher, backend: configuredBackend() }, exp);
  }

  /** DFT / DPT / SFT: pick a run holding the checkpoints the stage starts from (`--from`). */
  async startFromRun(kind: 'dft' | 'dpt' | 'sft', a?: unknown, b?: unknown): Promise<void> {
    if (!(await requireTrust('Training'))) return;
    const names = { dft: 'Start Distilled Fine-Tuning', dpt: 'Start Distilled Pre-Training', sft: 'Start Supervised Fine-Tuning' } as const;
    const title = `LLaVA-KD: ${names[kind]}`;
    const exp = await this.experimentFor(a, title);
    if (!exp) return;
    const plan = this.fullPlanOf(exp);
    const stageId = STAGE_SETS[kind][0];
    if (!plan || !plan.some((s) => s.id === stageId)) {
      const why = !plan ? `${readExperimentConfig(exp.file).error ?? `${exp.file} does not resolve`}; fix the experiment file first` : `the pipeline of "${exp.name}" has no ${stageId} stage (pipeline.kd is [${plan.filter((s) => s.track === 'kd').map((s) => s.kind).join(', ')}])`;
      void vscode.window.showErrorMessage(`LLaVA-KD: ${names[kind]}: ${why}.`);
      return;
    }
    const requirements = fromRequirements(plan, stageId);
    const candidates = runsWithCheckpoints(exp.runs, requirements);
    let from: RunSummary | undefined;
    const given = argRunDirs(a, b)[0];
    if (given) from = candidates.find((r) => r.dir === given);
    if (!from && candidates.length === 0) {
      await this.offerPrerequisite(kind, exp);
      return;
    }
    if (!from) {
      const need = requirements.map((alts) => alts.map(ckptName).join(' or ')).join(', ');
      from = await pickRun(exp, candidates, title, `Run to start from (has ${need} checkpoints)`);
    }
    if (!from) return;
    await this.launch({ kind: 'run', experimentFile: exp.file, stages: stagesFrom(from, STAGE_SETS[kind], plan), from: from.dir, backend: configuredBackend() }, exp);
  }

  private async offerPrerequisite(kind: 'dft' | 'dpt' | 'sft', exp: ExperimentSummary): Promise<void> {
    const w = vscode.window;
    if (kind === 'dft') {
      const pick = await w.showInformationMessage(
        `LLaVA-KD: no run of "${exp.name}" has finished the kd/sft and teacher/sft checkpoints, which distilled fine-tuning starts from.`,
        'Run Full Pipeline',
      );
      if (pick) await this.runFullPipeline(exp.file);
    } else if (kind === 'dpt') {
      const both = 'Train Teacher, then DPT';
      const pick = await w.showInformationMessage(`LLaVA-KD: distilled pre-training needs a trained teacher (teacher/sft checkpoint) and no run of "${exp.name}" has one.`, both, 'Train Teacher');
      if (pick === both) {
        const plan = this.planOf(exp);
        const stages = STAGE_SETS.teacherThenDpt.filter((s) => !plan || !s.includes('/') || plan.includes(s));
        await this.launch({ kind: 'run', experimentFile: exp.file, stages, backend: configuredBackend() }, exp);
      }
      else if (pick) await this.trainTeacher(exp.file);
    } else {
      const pick = await w.showInformationMessage(`LLaVA-KD: supervised fine-tuning continues from distilled pre-training, and no run of "${exp.name}" has a kd/dpt checkpoint.`, 'Start Distilled Pre-Training', 'Run Full Pipeline');
      if (pick === 'Run Full Pipeline') await this.runFullPipeline(exp.file);
      else if (pick) await this.startFromRun('dpt', exp.file);
    }
  }

  async runStage(a?: unknown): Promise<void> {
    if (!(await requireTrust('Training'))) return;
    const exp = await this.experimentFor(a, 'LLaVA-KD: Run Stage');
    if (!exp) return;
    const plan = this.planOf(exp);
    if (!plan) {
      const r = readExperimentConfig(exp.file);
      void vscode.window.showErrorMessage(`LLaVA-KD: ${r.error ?? `${exp.file} does not resolve`}; fix the experiment file to pick its stages.`);
      return;
    }
    const picks = await vscode.window.showQuickPick(plan.map((s) => ({ label: s })), { title: 'LLaVA-KD: Run Stage', canPickMany: true, placeHolder: 'Stages of this experiment\'s pipeline to run (in pipeline order)', ignoreFocusOut: true });
    if (!picks?.length) return;
    const stages = plan.filter((s) => picks.some((p) => p.label === s));
    let from: string | undefined;
    const withCkpt = exp.runs.filter((r) => r.checkpoints.length > 0);
    if (withCkpt.length) {
      const fresh = { label: '$(add) Start fresh', description: 'no --from: earlier stages must be among the picked ones' };
      const items: (vscode.QuickPickItem & { dir?: string })[] = [fresh, ...withCkpt.map((r) => ({ label: r.runId, description: r.checkpoints.map((c) => c.name.replace('.safetensors', '')).join(', '), dir: r.dir }))];
      const choice = await vscode.window.showQuickPick(items, { title: 'LLaVA-KD: Run Stage', placeHolder: 'Take earlier stages\' checkpoints from a run (--from)?' });
      if (!choice) return;
      from = choice.dir;
    }
    await this.launch({ kind: 'run', experimentFile: exp.file, stages, from, backend: configuredBackend() }, exp);
  }

  async stop(a?: unknown): Promise<void> {
    await this.d.store.ready();
    const dirs = argRunDirs(a);
    const ours = this.d.trainer.trainings;
    const external = this.d.store.allRuns().filter(({ run }) => run.status?.state === 'running' && !this.d.trainer.byRunDir(run.dir));
    if (dirs.length) {
      for (const dir of dirs) {
        const t = this.d.trainer.byRunDir(dir);
        if (t) await this.confirmStop(t);
        else await this.stopExternal(dir);
      }
      return;
    }
    const items = [
      ...ours.map((t) => ({ label: `$(sync~spin) ${t.runId ?? t.title}`, description: `${t.experimentName} · ${t.stage ?? 'starting'} ${t.step}/${t.totalSteps}`, stop: () => this.confirmStop(t) })),
      ...external.map(({ exp, run }) => ({ label: `$(terminal) ${run.runId}`, description: `${exp.name} · started outside VS Code (pid ${run.status!.pid})`, stop: () => this.stopExternal(run.dir) })),
    ];
    if (!items.length) {
      void vscode.window.showInformationMessage('LLaVA-KD: no training is running.');
      return;
    }
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: 'LLaVA-KD: Stop Training', placeHolder: 'Run to stop' });
    if (pick) await pick.stop();
  }

  /** Stops one of our trainings after a modal confirmation naming where it is (#9: Stop of a long run went unconfirmed). */
  private async confirmStop(t: ActiveTraining): Promise<void> {
    const where = t.stage ? ` at ${t.stage} ${t.step}/${t.totalSteps}` : '';
    const ok = await vscode.window.showWarningMessage(`Stop ${t.title}${t.runId ? ` (${t.runId})` : ''}${where}?`,
      { modal: true, detail: 'It saves a resume checkpoint at the current step; Resume Run continues from there.' }, 'Stop');
    if (ok === 'Stop') this.d.trainer.stop(t);
  }

  /** Stops a run started from a terminal: SIGTERM to the pid in its status (the trainer checkpoints). */
  private async stopExternal(runDir: string): Promise<void> {
    const hit = this.d.store.findRun(runDir);
    const st = hit?.run.status;
    if (!st || st.state !== 'running' || !isProcessAlive(st.pid)) {
      void vscode.window.showInformationMessage(`LLaVA-KD: ${path.basename(runDir)} is not running.`);
      return;
    }
    const ok = await vscode.window.showWarningMessage(`Stop run ${st.runId}, started outside VS Code (pid ${st.pid})? It checkpoints and can be resumed.`, { modal: true }, 'Stop');
    if (ok !== 'Stop') return;
    try {
      process.kill(st.pid, 'SIGTERM');
      this.d.log.info(`Sent SIGTERM to pid ${st.pid} (${runDir})`);
    } catch (e) {
      void vscode.window.showErrorMessage(`LLaVA-KD: could not stop pid ${st.pid}: ${(e as Error).message}`);
    }
    this.d.store.scheduleRefresh(1000);
  }

  async resume(a?: unknown): Promise<void> {
    if (!(await requireTrust('Training'))) return;
    await this.d.store.ready();
    let dir: string | undefined = argRunDirs(a)[0];
    if (dir && this.d.trainer.byRunDir(dir)) {
      void vscode.window.showInformationMessage(`LLaVA-KD: ${path.basename(dir)} is already training.`);
      return;
    }
    if (!dir) {
      const all = this.d.store.allRuns();
      const resumable = new Set(resumableRuns(all.map((x) => x.run)).map((r) => r.dir));
      const picked = await pickRuns(this.d.store, { title: 'LLaVA-KD: Resume Run', many: false, filter: (r) => resumable.has(r.dir) });
      if (picked && picked.length === 0) {
        const pick = await vscode.window.showInformationMessage('LLaVA-KD: no stopped or failed run to resume.', 'Run Full Pipeline');
        if (pick) await this.runFullPipeline();
        return;
      }
      dir = picked?.[0]?.run.dir;
    }
    if (!dir) return;
    const exp = this.d.store.experimentOfRun(dir);
    // Titled after what the run trains ("Full pipeline, resumed"), not "Resume".
    const stages = this.d.store.findRun(dir)?.run.status?.stages;
    await this.d.trainer.start({ kind: 'resume', runDir: dir, stages, plan: this.planOf(exp) }, exp.dir, exp.name);
    this.d.store.scheduleRefresh(500);
  }

  // ------------------------------------------------------------------------------- panels

  async openDashboard(a?: unknown, b?: unknown): Promise<void> {
    await this.d.store.ready();
    let dirs = argRunDirs(a, b);
    if (!dirs.length) {
      const training = this.d.trainer.trainings.map((t) => t.runDir).filter((x): x is string => !!x);
      if (training.length) dirs = training;
      else if (this.d.store.allRuns().length) {
        const picked = await pickRuns(this.d.store, { title: 'LLaVA-KD: Open Dashboard', many: true });
        if (!picked) return;
        dirs = picked.map((p) => p.run.dir);
      }
    }
    this.d.showPanel('dashboard', dirs);
  }

  async showSamples(a?: unknown, b?: unknown): Promise<void> {
    await this.d.store.ready();
    let dirs = argRunDirs(a, b);
    if (!dirs.length && this.d.store.allRuns().length) {
      const picked = await pickRuns(this.d.store, { title: 'LLaVA-KD: Show Samples (pick one or two runs)', many: true });
      if (!picked) return;
      dirs = picked.map((p) => p.run.dir);
    }
    this.d.showPanel('samples', dirs);
  }

  async compareConfigs(a?: unknown, b?: unknown): Promise<void> {
    await this.d.store.ready();
    let sources: string[] = argRunDirs(a, b);
    const expFile = argExperimentFile(a);
    if (!sources.length && expFile) sources = [expFile];
    if (sources.length < 2) {
      const total = this.d.store.allRuns().length + this.d.store.experiments.length;
      if (total - sources.length < 1 || total < 2) {
        const pick = await vscode.window.showInformationMessage('LLaVA-KD: Compare Configs needs two runs or experiments, and this workspace has fewer.', 'Run Full Pipeline');
        if (pick) await this.runFullPipeline();
        return;
      }
      const more = await pickConfigSources(this.d.store, 'LLaVA-KD: Compare Configs', sources);
      if (!more) return;
      sources = [...sources, ...more];
    }
    this.d.showPanel('configDiff', sources);
  }

  async compareWithLastRun(a?: unknown): Promise<void> {
    const exp = await this.experimentFor(a, 'LLaVA-KD: Compare with Last Run');
    if (!exp) return;
    const last = lastRun(exp);
    if (!last) {
      const pick = await vscode.window.showInformationMessage(`LLaVA-KD: "${exp.name}" has no run to compare with yet.`, 'Run Full Pipeline');
      if (pick) await this.runFullPipeline(exp.file);
      return;
    }
    this.d.showPanel('configDiff', [exp.file, last.dir]);
  }

  // ------------------------------------------------------------------------------- files

  async newExperiment(): Promise<void> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (!folders.length) {
      const pick = await vscode.window.showInformationMessage('LLaVA-KD: open a folder first; experiments live in workspace folders.', 'Open Folder');
      if (pick) await vscode.commands.executeCommand('workbench.action.files.openFolder');
      return;
    }
    const folder = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Workspace folder of the new experiment' });
    if (!folder) return;
    const name = await vscode.window.showInputBox({
      title: 'LLaVA-KD: New Experiment',
      prompt: `Folder for the experiment, relative to ${folder.name}`,
      value: 'kd-experiment-1',
      validateInput: (v) => {
        const t = v.trim();
        if (!t) return 'Enter a folder name';
        if (path.isAbsolute(t) || t.split(/[\\/]/).includes('..')) return 'Use a folder inside the workspace (no absolute path, no "..")';
        if (fs.existsSync(path.join(folder.uri.fsPath, t, EXPERIMENT_FILE))) return `${t}/${EXPERIMENT_FILE} already exists`;
        return undefined;
      },
    });
    if (!name) return;
    const preset = await vscode.window.showQuickPick(PRESET_NAMES.map((p) => ({ label: p, detail: PRESETS[p].description })), { title: 'LLaVA-KD: New Experiment', placeHolder: 'Preset the experiment starts from' });
    if (!preset) return;
    const dir = path.join(folder.uri.fsPath, name.trim());
    const cli = path.join(this.d.context.extensionPath, 'dist', 'cli.js');
    const args = [cli, ...buildCliArgs({ kind: 'init', dir, preset: preset.label, name: path.basename(dir) })];
    this.d.log.info(`New experiment: ${process.execPath} ${args.join(' ')}`);
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: folder.uri.fsPath, env: trainerEnv(process.env, undefined), timeout: 60_000 }, (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr: String(stderr) });
      });
    });
    if (res.code !== 0) {
      this.d.log.error(res.stderr);
      void vscode.window.showErrorMessage(`LLaVA-KD: creating ${name}/${EXPERIMENT_FILE} failed: ${res.stderr.trim().split('\n').pop() ?? `exit code ${res.code}`}`, 'Show Log').then((p) => p && this.d.log.show(true));
      return;
    }
    const file = path.join(dir, EXPERIMENT_FILE);
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    await this.d.store.rescan();
  }

  async showLog(a?: unknown): Promise<void> {
    const dir = argRunDirs(a)[0];
    const log = dir ? path.join(dir, 'train.log') : undefined;
    if (log && fs.existsSync(log)) {
      await vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true });
      return;
    }
    this.d.log.show(true);
  }

  async openExperiment(a?: unknown): Promise<void> {
    const exp = await this.experimentFor(a, 'LLaVA-KD: Open Experiment');
    if (exp) await vscode.window.showTextDocument(vscode.Uri.file(exp.file));
  }

  private async reveal(a: unknown, inOS: boolean): Promise<void> {
    let p: string | undefined;
    if (isNode(a)) p = a.path ?? a.runDir ?? a.sweepDir ?? a.experimentFile;
    else if (typeof a === 'string') p = a;
    else if (a instanceof vscode.Uri) p = a.fsPath;
    if (!p) return;
    const uri = vscode.Uri.file(p);
    if (inOS) await vscode.commands.executeCommand('revealFileInOS', uri);
    else await vscode.commands.executeCommand('revealInExplorer', uri);
  }
}
