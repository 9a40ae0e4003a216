/**
 * Entry point of LLaVA-KD Studio: wires the run store, trainer manager, Experiments tree, panels,
 * sweep manager, commands, diagnostics, CodeLens, quick fixes and the resolved-config documents, and keeps the
 * context keys (llavaKd.hasRuns, llavaKd.isTraining, llavaKd.isSweeping, llavaKd.hasExperiments) current. Nothing heavy happens
 * here: the trainer runs in a child process, and tfjs is never imported by the extension host.
 */
import * as vscode from 'vscode';
import { EXPERIMENT_FILE } from './common/runFormat';
import { ExperimentCodeLens } from './host/codeLens';
import { Commands } from './host/commands';
import { canCancel } from './host/core/sweepModel';
import { ExperimentDiagnostics } from './host/diagnostics';
import { getLog } from './host/log';
import { pickConfigSources, pickRuns } from './host/pickers';
import { ExperimentQuickFixes } from './host/quickFix';
import { RESOLVED_SCHEME, ResolvedConfigProvider } from './host/resolvedConfigProvider';
import { RunStore } from './host/runStore';
import { SweepManager } from './host/sweepManager';
import { TrainerManager } from './host/trainerManager';
import { ExperimentsTreeProvider } from './views/experimentsTree';
import { Panels } from './views/panels';

export function activate(context: vscode.ExtensionContext): void {
  const log = getLog();
  const sub = (...d: vscode.Disposable[]): void => {
    context.subscriptions.push(...d);
  };
  sub(log);

  const store = new RunStore(log);
  const trainer = new TrainerManager({
    extensionPath: context.extensionPath,
    globalStoragePath: context.globalStorageUri.fsPath,
    log,
    onRunsChanged: () => store.scheduleRefresh(200),
  });
  const sweeps = new SweepManager({
    extensionPath: context.extensionPath,
    globalStoragePath: context.globalStorageUri.fsPath,
    log,
    onSweepsChanged: () => store.scheduleRefresh(200),
  });
  sub(store, trainer, sweeps);

  const tree = new ExperimentsTreeProvider(store);
  const view = vscode.window.createTreeView('llavaKd.experiments', { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  sub(tree, view);

  const panels = new Panels(
    { extensionUri: context.extensionUri, log },
    {
      store,
      pickMoreRuns: async (_kind, exclude) => (await pickRuns(store, { title: 'LLaVA-KD: Add Runs', many: true, exclude }))?.map((p) => p.run.dir),
      pickMoreSources: (exclude) => pickConfigSources(store, 'LLaVA-KD: Add to Config Diff', exclude),
    },
  );
  sub(panels);
  sub(...new Commands({ context, store, trainer, sweeps, showPanel: (kind, sources) => void panels.show(kind, sources), dropFromPanels: (dir) => panels.dropSource(dir), log }).register());

  const resolved = new ResolvedConfigProvider();
  sub(vscode.workspace.registerTextDocumentContentProvider(RESOLVED_SCHEME, resolved));
  sub(vscode.workspace.onDidSaveTextDocument((d) => d.uri.fsPath.endsWith(EXPERIMENT_FILE) && resolved.refresh(d.uri.fsPath)));
  sub(new ExperimentDiagnostics(log));
  const experimentFiles: vscode.DocumentSelector = { scheme: 'file', pattern: `**/${EXPERIMENT_FILE}` };
  const lenses = new ExperimentCodeLens();
  sub(lenses, vscode.languages.registerCodeLensProvider(experimentFiles, lenses));
  sub(vscode.languages.registerCodeActionsProvider(experimentFiles, new ExperimentQuickFixes(), ExperimentQuickFixes.metadata));

  const updateContext = (): void => {
    const runs = store.allRuns();
    const training = trainer.trainings.length > 0 || runs.some(({ run }) => run.status?.state === 'running');
    void vscode.commands.executeCommand('setContext', 'llavaKd.hasExperiments', store.experiments.length > 0);
    void vscode.commands.executeCommand('setContext', 'llavaKd.hasRuns', runs.length > 0);
    void vscode.commands.executeCommand('setContext', 'llavaKd.isTraining', training);
    void vscode.commands.executeCommand('setContext', 'llavaKd.isSweeping', sweeps.sweeps.length > 0 || store.allSweeps().some(({ sweep }) => canCancel(sweep)));
    view.badge = trainer.trainings.length ? { value: trainer.trainings.length, tooltip: `${trainer.trainings.length} training run(s)` } : undefined;
  };
  sub(store.onDidChange(updateContext), trainer.onDidChange(updateContext), sweeps.onDidChange(updateContext));
  updateContext();
}

export function deactivate(): void {
  /* disposables in context.subscriptions stop trainers (SIGTERM) and watchers */
}
