/**
 * Runs trainer child processes (several at once, kept in a map): spawns `dist/cli.js` with the
 * extension host's own executable, forwards stderr to the log channel, follows the JSON events
 * for the status bar (`$(sync~spin) kd/dft 120/400 · ETA 1m 20s`) and a cancellable progress
 * notification, and reports completion / failure / stop with follow-up actions. A run of an
 * experiment file that does not validate is not started: a short notice points to Problems.
 * How the CLI is started (cliProcessOptions) and the validity check (refuseInvalidExperiment)
 * are shared with the sweep manager.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainerEvent } from '../common/runFormat';
import type { RunProgress } from '../common/messages';
import { readStatus } from '../common/runReader';
import type { BackendName } from '../trainer/config/types';
import { actionTitle, buildCliArgs, trainerEnv, type TrainerAction } from './core/cliArgs';
import { invalidRunMessage } from './core/configProblems';
import { experimentProblems } from './core/experimentCheck';
import { PROBLEMS_VIEW_COMMAND } from './core/lensModel';
import { formatAccuracyRecord, formatEta, percent, statusBarText } from '../common/format';
import { TrainerProcess, exitOutcome, type TrainerExit, type TrainerProcessOptions } from './core/trainerProcess';

export interface ActiveTraining extends RunProgress {
  id: number;
  action: TrainerAction;
  title: string;
  experimentName: string;
  experimentFile?: string;
  proc: TrainerProcess;
  runDir?: string;
  runId?: string;
  backend?: string;
  lastError?: string;
  /** A divergence warning was already shown as a notification. */
  warned?: boolean;
  /** Last lines of stderr (for failure messages). */
  stderrTail: string[];
}

export interface TrainerManagerDeps {
  extensionPath: string;
  globalStoragePath: string;
  log: vscode.LogOutputChannel;
  /** Called when a run folder appears or a process ends (the tree refreshes). */
  onRunsChanged: () => void;
}

/** Folder holding native tfjs modules: the setting, else the one Install GPU Backend fills. */
export function nativeModulesPath(globalStoragePath: string): string | undefined {
  const setting = vscode.workspace.getConfiguration('llavaKd').get<string>('nativeModulesPath')?.trim();
  if (setting) return setting;
  const installed = path.join(globalStoragePath, 'native');
  return fs.existsSync(path.join(installed, 'node_modules', '@tensorflow')) ? installed : undefined;
}

export function configuredBackend(): BackendName {
  return vscode.workspace.getConfiguration('llavaKd').get<BackendName>('backend') ?? 'auto';
}

/** Refuses (with a message offering to manage trust) in an untrusted workspace. */
export async function requireTrust(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const pick = await vscode.window.showWarningMessage(`LLaVA-KD: ${what} runs code and is disabled in an untrusted workspace.`, 'Manage Workspace Trust');
  if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/**
 * True (and says so, briefly) when the experiment file `file` does not validate: the trainer
 * would only refuse it. The file is opened (not shown) so its problems are in Problems, where
 * the notice sends the user. An unreadable file is left to the trainer to report.
 */
export function refuseInvalidExperiment(file: string, log: vscode.LogOutputChannel): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const issues = experimentProblems(text, file);
  if (!issues.length) return false;
  const uri = vscode.Uri.file(file);
  void vscode.workspace.openTextDocument(uri).then(undefined, () => undefined);
  log.warn(`Not started: ${file} has ${issues.length} problem(s)`);
  void vscode.window.showErrorMessage(`LLaVA-KD: ${invalidRunMessage(vscode.workspace.asRelativePath(uri), issues)}`, 'Show Problems', 'Open File').then(async (pick) => {
    if (pick === 'Show Problems') await vscode.commands.executeCommand(PROBLEMS_VIEW_COMMAND);
    else if (pick === 'Open File') await vscode.window.showTextDocument(uri);
  });
  return true;
}

/**
 * How the extension starts the trainer CLI with `args` in `cwd`: the extension host's own
 * executable (plain node through ELECTRON_RUN_AS_NODE) on the bundled dist/cli.js, with the
 * native-module folder and the extension's cache in its environment. Undefined (and says so)
 * when the bundle is missing. Trainings and sweeps start the same way.
 */
export function cliProcessOptions(deps: Pick<TrainerManagerDeps, 'extensionPath' | 'globalStoragePath'>, args: string[], cwd: string): TrainerProcessOptions | undefined {
  const cliPath = path.join(deps.extensionPath, 'dist', 'cli.js');
  if (!fs.existsSync(cliPath)) {
    void vscode.window.showErrorMessage(`LLaVA-KD: the trainer bundle ${cliPath} is missing. Rebuild the extension (npm run build).`);
    return undefined;
  }
  const env = trainerEnv(process.env, nativeModulesPath(deps.globalStoragePath), path.join(deps.globalStoragePath, 'cache'));
  return { execPath: process.execPath, cliPath, args, cwd, env };
}

/** How long the default progress notification stays after the first logged step. */
const PROGRESS_LINGER_MS = 4000;

export class TrainerManager implements vscode.Disposable {
  private readonly active = new Map<number, ActiveTraining>();
  private nextId = 1;
  private readonly statusBar: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly deps: TrainerManagerDeps) {
    this.statusBar = vscode.window.createStatusBarItem('llavaKd.training', vscode.StatusBarAlignment.Left, 50);
    this.statusBar.name = 'LLaVA-KD Training';
  }

  get trainings(): ActiveTraining[] {
    return [...this.active.values()];
  }

  byRunDir(runDir: string): ActiveTraining | undefined {
    const norm = path.resolve(runDir);
    return this.trainings.find((t) => t.runDir && path.resolve(t.runDir) === norm);
  }

  /** Trainings asked for while others ran and queued by the user: each starts when no training runs. */
  private readonly queue: { action: TrainerAction; cwd: string; experimentName: string }[] = [];

  /** True when a queued training resumes this run folder or starts from its checkpoints (`--from`). */
  queuedFor(runDir: string): boolean {
    const norm = path.resolve(runDir);
    return this.queue.some(({ action: a }) => (a.kind === 'resume' && path.resolve(a.runDir) === norm) || (a.kind === 'run' && a.from !== undefined && path.resolve(a.from) === norm));
  }

  /**
   * Starts the CLI for `action` in `cwd`. While another training runs, asks first: start it
   * beside the others (they share the cores) or queue it. Returns undefined when refused (trust,
   * missing bundle), cancelled or queued.
   */
  async start(action: TrainerAction, cwd: string, experimentName: string): Promise<ActiveTraining | undefined> {
    if (!(await requireTrust('Training'))) return undefined;
    if (this.refusedAsInvalid(action)) return undefined;
    const running = this.trainings;
    if (running.length && (action.kind === 'run' || action.kind === 'resume')) {
      const names = running.map((r) => r.runId ?? r.title).join(', ');
      const cores = os.availableParallelism();
      const pick = await vscode.window.showWarningMessage(`${names} ${running.length > 1 ? 'are' : 'is'} training. Start ${actionTitle(action)} now beside it, or queue it?`,
        { modal: true, detail: `This machine has ${cores} core${cores > 1 ? 's' : ''}: runs at the same time share ${cores > 1 ? 'them' : 'it'}, each slower. A queued run starts when the trainings running now have ended.` }, 'Queue', 'Start Now');
      if (pick === undefined) return undefined;
      if (pick === 'Queue') {
        this.queue.push({ action, cwd, experimentName });
        this.deps.log.info(`Queued: ${actionTitle(action)} (${experimentName}), ${this.queue.length} waiting`);
        this.updateStatusBar();
        void vscode.window.showInformationMessage(`LLaVA-KD: ${actionTitle(action)} (${experimentName}) queued: it starts when ${names} ${running.length > 1 ? 'have' : 'has'} ended.`);
        return undefined;
      }
    }
    return this.spawn(action, cwd, experimentName);
  }

  /** True (and says so) when `action` runs an experiment file that does not validate. */
  private refusedAsInvalid(action: TrainerAction): boolean {
    return action.kind === 'run' && refuseInvalidExperiment(action.experimentFile, this.deps.log);
  }

  /** A queued training: checked again (its file may have changed while it waited), then spawned. */
  private async launchQueued(action: TrainerAction, cwd: string, experimentName: string): Promise<ActiveTraining | undefined> {
    if (this.refusedAsInvalid(action)) return undefined;
    return this.spawn(action, cwd, experimentName);
  }

  /** Spawns the trainer for `action` (already checked; no questions asked). */
  private async spawn(action: TrainerAction, cwd: string, experimentName: string): Promise<ActiveTraining | undefined> {
    const opts = cliProcessOptions(this.deps, buildCliArgs(action), cwd);
    if (!opts) return undefined;
    const title = actionTitle(action);
    this.deps.log.info(`Starting: ${opts.execPath} ${opts.cliPath} ${opts.args.join(' ')} (cwd ${cwd})`);
    const proc = new TrainerProcess(opts);
    const t: ActiveTraining = {
      id: this.nextId++, action, title, experimentName, proc, stage: null, step: 0, totalSteps: 0, globalStep: 0, globalTotalSteps: 0, stderrTail: [],
      experimentFile: action.kind === 'run' ? action.experimentFile : undefined,
      runDir: action.kind === 'resume' ? action.runDir : undefined,
      runId: action.kind === 'resume' ? path.basename(action.runDir) : undefined,
    };
    this.active.set(t.id, t);
    const tag = (): string => `[${t.runId ?? `#${t.id}`}]`;
    proc.onText(({ stream, text }) => {
      if (stream === 'stderr') {
        t.stderrTail.push(text);
        if (t.stderrTail.length > 30) t.stderrTail.shift();
      }
      this.deps.log.info(`${tag()} ${text}`);
    });
    proc.onEvent((e) => this.onEvent(t, e, tag));
    this.updateStatusBar();
    this.changed.fire();
    this.showProgress(t);
    void proc.exited.then((exit) => this.onExit(t, exit));
    return t;
  }

  stop(t: ActiveTraining): void {
    this.deps.log.info(`[${t.runId ?? `#${t.id}`}] stop requested: SIGTERM (SIGKILL after ${t.proc.killTimeoutMs / 1000} s)`);
    t.proc.stop();
  }

  private onEvent(t: ActiveTraining, e: TrainerEvent, tag: () => string): void {
    switch (e.event) {
      case 'started':
        t.runDir = e.runDir;
        t.runId = e.runId;
        t.backend = e.backend;
        this.deps.log.info(`${tag()} started in ${e.runDir} (backend ${e.backend}, stages ${e.stages.join(', ')}, pid ${e.pid})`);
        this.deps.onRunsChanged();
        break;
      case 'stage-start':
        t.stage = e.stage;
        t.step = e.step ?? 0;
        t.totalSteps = e.totalSteps;
        this.readGlobal(t);
        this.deps.onRunsChanged();
        break;
      case 'step':
        t.stage = e.stage;
        t.step = e.step;
        t.totalSteps = e.totalSteps;
        t.globalStep = e.globalStep;
        t.globalTotalSteps = e.globalTotalSteps;
        if (e.etaSeconds !== undefined) {
          t.etaSeconds = e.etaSeconds;
          t.etaRough = e.etaRough;
        }
        break;
      case 'stage-done':
        this.deps.log.info(`${tag()} ${e.stage} done at step ${e.step}: ${e.checkpoint}`);
        this.deps.onRunsChanged();
        break;
      case 'eval':
        this.deps.log.info(`${tag()} eval ${e.model} ${e.split} at ${e.stage} step ${e.step}: ${(e.accuracy * 100).toFixed(1)}% (n=${e.n})`);
        break;
      case 'log':
        if (e.level === 'warn') {
          this.deps.log.warn(`${tag()} ${e.message}`);
          // One notification per run for the first divergence warning; the rest go to the log and the tree.
          if (e.message.startsWith('divergence:') && !t.warned) {
            t.warned = true;
            void vscode.window.showWarningMessage(`LLaVA-KD ${tag()}: ${e.message}`, 'Show Log').then((p) => p && this.deps.log.show(true));
          }
        } else this.deps.log.info(`${tag()} ${e.message}`);
        break;
      case 'error':
        t.lastError = e.message;
        if (e.runDir) t.runDir = e.runDir;
        this.deps.log.error(`${tag()} ${e.message}`);
        break;
      case 'finished':
        t.runDir = e.runDir || t.runDir;
        break;
      default:
        break;
    }
    this.updateStatusBar();
    this.changed.fire();
  }

  /** At a stage's start: the global step, its total, the ETA and the backend from status.json (step events carry them from then on). */
  private readGlobal(t: ActiveTraining): void {
    if (!t.runDir) return;
    const r = readStatus(t.runDir);
    if (!r.ok) return;
    t.globalTotalSteps = r.status.globalTotalSteps;
    if (r.status.globalStep > t.globalStep) t.globalStep = r.status.globalStep;
    if (t.etaSeconds === undefined && r.status.etaSeconds !== undefined) {
      t.etaSeconds = r.status.etaSeconds;
      t.etaRough = r.status.etaRough;
    }
    t.backend = r.status.backend || t.backend;
  }

  /**
   * The progress notification, as `llavaKd.progressNotification` says: by default only until the
   * first stage has logged a step (plus a few seconds to read it), so that it does not cover the
   * dashboard for the whole run; the status bar carries the progress from then on.
   */
  private showProgress(t: ActiveTraining): void {
    const mode = vscode.workspace.getConfiguration('llavaKd').get<string>('progressNotification') ?? 'whileStarting';
    if (mode === 'never') return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LLaVA-KD: ${t.title} — ${t.experimentName}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => this.stop(t));
        let reported = 0;
        const sub = this.onDidChange(() => {
          const pct = t.globalTotalSteps > 0 ? percent(t.globalStep, t.globalTotalSteps) : t.totalSteps > 0 ? percent(t.step, t.totalSteps) : 0;
          const msg = t.stage ? `${t.stage} ${t.step}/${t.totalSteps}${t.etaSeconds !== undefined ? ` · ${formatEta(t.etaSeconds, t.etaRough)}` : ''}` : 'starting…';
          progress.report({ message: msg, increment: pct > reported ? pct - reported : undefined });
          if (pct > reported) reported = pct;
        });
        let first: vscode.Disposable | undefined;
        const started = mode === 'always' ? new Promise<void>(() => undefined) : new Promise<void>((resolve) => {
          first = this.onDidChange(() => {
            if (!t.stage || t.step < 1) return;
            first?.dispose();
            setTimeout(resolve, PROGRESS_LINGER_MS);
          });
        });
        try {
          await Promise.race([t.proc.exited, started]);
        } finally {
          sub.dispose();
          first?.dispose();
        }
      },
    );
  }

  private async onExit(t: ActiveTraining, exit: TrainerExit): Promise<void> {
    this.active.delete(t.id);
    if (!this.trainings.length && this.queue.length) {
      const next = this.queue.shift()!;
      this.deps.log.info(`Starting the next queued training: ${actionTitle(next.action)} (${next.experimentName})`);
      void this.launchQueued(next.action, next.cwd, next.experimentName);
    }
    this.updateStatusBar();
    this.changed.fire();
    this.deps.onRunsChanged();
    const outcome = exitOutcome(exit);
    const status = t.runDir ? readStatus(t.runDir) : undefined;
    const st = status?.ok ? status.status : undefined;
    const name = `${t.title}${t.runId ? ` (${t.runId})` : ''}`;
    this.deps.log.info(`[${t.runId ?? `#${t.id}`}] exited: code ${exit.code}, signal ${exit.signal ?? 'none'} -> ${outcome}`);
    const runDir = t.runDir;
    const actions: string[] = [];
    const act = async (pick: string | undefined): Promise<void> => {
      if (pick === 'Open Dashboard' && runDir) await vscode.commands.executeCommand('llavaKd.openDashboard', runDir);
      else if (pick === 'Show Log') this.deps.log.show(true);
      else if (pick === 'Resume' && runDir) await vscode.commands.executeCommand('llavaKd.resumeRun', runDir);
      else if (pick === 'Open Config' && t.experimentFile) await vscode.window.showTextDocument(vscode.Uri.file(t.experimentFile));
    };
    if (outcome === 'completed') {
      const acc = formatAccuracyRecord(st?.accuracy);
      if (runDir) actions.push('Open Dashboard');
      actions.push('Show Log');
      void vscode.window.showInformationMessage(`LLaVA-KD: ${name} finished${acc ? ` — ${acc}` : ''}.`, ...actions).then(act);
    } else if (outcome === 'stopped') {
      if (runDir) actions.push('Resume', 'Open Dashboard');
      actions.push('Show Log');
      const where = st?.stage ? ` at ${st.stage} ${st.step}/${st.totalSteps}` : '';
      void vscode.window.showInformationMessage(`LLaVA-KD: ${name} stopped${where}${exit.killed ? ' (killed after the grace period)' : ''}.`, ...actions).then(act);
    } else if (outcome === 'invalid') {
      const detail = t.lastError ?? t.stderrTail.slice(-3).join(' ').trim();
      if (t.experimentFile) actions.push('Open Config');
      actions.push('Show Log');
      void vscode.window.showErrorMessage(`LLaVA-KD: ${name} refused: ${detail || 'invalid configuration or input (exit code 2)'}`, ...actions).then(act);
    } else {
      const detail = st?.error ?? t.lastError ?? t.stderrTail.slice(-2).join(' ').trim();
      actions.push('Show Log');
      if (runDir) actions.push('Open Dashboard', 'Resume');
      void vscode.window.showErrorMessage(`LLaVA-KD: ${name} failed${detail ? `: ${detail}` : exit.signal ? ` (killed by ${exit.signal})` : ` (exit code ${exit.code})`}`, ...actions).then(act);
    }
  }

  private updateStatusBar(): void {
    const list = this.trainings;
    if (!list.length) {
      this.statusBar.hide();
      return;
    }
    const first = list[0];
    this.statusBar.text = statusBarText(first, list.length - 1, this.queue.length);
    const md = new vscode.MarkdownString(list.map((t) => `**${t.runId ?? t.title}** (${t.experimentName}): ${t.stage ?? 'starting'} ${t.step}/${t.totalSteps}` +
      `${t.globalTotalSteps ? ` · overall ${percent(t.globalStep, t.globalTotalSteps)}%` : ''}${t.etaSeconds !== undefined ? ` · ${formatEta(t.etaSeconds, t.etaRough)}` : ''}${t.backend ? ` · ${t.backend}` : ''}`).join('\n\n') + '\n\nClick to open the dashboard.');
    this.statusBar.tooltip = md;
    const dirs = list.map((t) => t.runDir).filter((d): d is string => !!d);
    this.statusBar.command = { command: 'llavaKd.openDashboard', title: 'Open Dashboard', arguments: dirs.length ? [dirs] : [] };
    this.statusBar.accessibilityInformation = { label: `LLaVA-KD training ${first.stage ?? 'starting'} step ${first.step} of ${first.totalSteps}` };
    this.statusBar.show();
  }

  dispose(): void {
    for (const t of this.active.values()) t.proc.stop();
    this.statusBar.dispose();
    this.changed.dispose();
  }
}
