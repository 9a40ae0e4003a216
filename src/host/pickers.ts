/**
 * Quick picks shared by the commands and the panels: an experiment, one run, several runs, and
 * runs-or-experiments for the config diff. Items show the run's name and tags, state, stage,
 * accuracy and backend.
 */
import * as vscode from 'vscode';
import { formatAccuracyRecord } from '../common/format';
import { compareRunsNewestFirst, finishedCheckpointStages, type ExperimentSummary, type RunSummary } from './core/runModel';
import type { RunStore } from './runStore';
import { runDescription } from './core/treeModel';

export interface RunPick extends vscode.QuickPickItem {
  exp: ExperimentSummary;
  run: RunSummary;
}

export interface SourcePick extends vscode.QuickPickItem {
  source: string;
}

export function runItem(exp: ExperimentSummary, run: RunSummary, showExp: boolean): RunPick {
  const ck = [...finishedCheckpointStages(run)].map((s) => s.replace('/', '-')).join(', ');
  return {
    label: `$(${run.status?.state === 'running' ? 'sync~spin' : run.status?.state === 'completed' ? 'pass' : run.status?.state === 'failed' ? 'error' : 'debug-stop'}) ${run.runId}`,
    description: [run.meta?.name ? `"${run.meta.name}"` : '', ...(run.meta?.tags ?? []).map((t) => `#${t}`), showExp ? exp.name : '', run.status ? runDescription(run.status) : run.error ?? ''].filter(Boolean).join(' · '),
    detail: [ck ? `checkpoints: ${ck}` : 'no stage checkpoints', run.status?.backend ? `backend ${run.status.backend}` : '', formatAccuracyRecord(run.status?.accuracy)].filter(Boolean).join(' · '),
    exp,
    run,
  };
}

/**
 * Picks an experiment (among `among`, by default all of the workspace); with exactly one it is
 * used without asking. With none at all, offers New Experiment (`among` empty: the caller says why).
 */
export async function pickExperiment(store: RunStore, title: string, among?: ExperimentSummary[]): Promise<ExperimentSummary | undefined> {
  await store.ready();
  const exps = among ?? store.experiments;
  if (!store.experiments.length) {
    const choice = await vscode.window.showInformationMessage('LLaVA-KD: no kd-experiment.json in this workspace yet.', 'New Experiment');
    if (choice) await vscode.commands.executeCommand('llavaKd.newExperiment');
    return undefined;
  }
  if (exps.length <= 1) return exps[0];
  const pick = await vscode.window.showQuickPick(
    exps.map((e) => ({ label: `$(beaker) ${e.label}`, description: e.name !== e.label ? e.name : undefined, detail: `${e.runs.length} run${e.runs.length === 1 ? '' : 's'} · ${e.file}`, e })),
    { title, placeHolder: 'Pick an experiment' },
  );
  return pick?.e;
}

/** Picks one run among `runs` (newest first). */
export async function pickRun(exp: ExperimentSummary, runs: RunSummary[], title: string, placeHolder: string): Promise<RunSummary | undefined> {
  const pick = await vscode.window.showQuickPick([...runs].sort(compareRunsNewestFirst).map((r) => runItem(exp, r, false)), { title, placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true });
  return pick?.run;
}

/**
 * Picks runs over all experiments (several when `many`), excluding `exclude`.
 * The run pickers keep their place when focus moves (`ignoreFocusOut`; Escape still cancels):
 * opened from the palette while a dashboard or samples panel has focus, VS Code hands the focus
 * back to the panel's webview as the palette closes, and a picker without it vanished at once.
 */
export async function pickRuns(store: RunStore, opts: { title: string; many: boolean; exclude?: string[]; filter?: (r: RunSummary) => boolean }): Promise<{ exp: ExperimentSummary; run: RunSummary }[] | undefined> {
  await store.ready();
  const showExp = store.experiments.length > 1;
  const items = store
    .allRuns()
    .filter(({ run }) => !opts.exclude?.includes(run.dir) && (!opts.filter || opts.filter(run)))
    .sort((a, b) => compareRunsNewestFirst(a.run, b.run))
    .map(({ exp, run }) => runItem(exp, run, showExp));
  if (!items.length) return [];
  if (opts.many) {
    const picks = await vscode.window.showQuickPick(items, { title: opts.title, canPickMany: true, placeHolder: 'Pick runs', matchOnDescription: true, ignoreFocusOut: true });
    return picks?.map((p) => ({ exp: p.exp, run: p.run }));
  }
  const pick = await vscode.window.showQuickPick(items, { title: opts.title, placeHolder: 'Pick a run', matchOnDescription: true, ignoreFocusOut: true });
  return pick ? [{ exp: pick.exp, run: pick.run }] : undefined;
}

/** Picks runs and/or experiment files for the config diff. */
export async function pickConfigSources(store: RunStore, title: string, exclude: string[] = []): Promise<string[] | undefined> {
  await store.ready();
  const items: SourcePick[] = [];
  for (const e of store.experiments) {
    if (!exclude.includes(e.file)) items.push({ label: `$(beaker) ${e.label}`, description: 'experiment (resolved kd-experiment.json)', detail: e.file, source: e.file });
  }
  for (const { exp, run } of store.allRuns().sort((a, b) => compareRunsNewestFirst(a.run, b.run))) {
    if (!exclude.includes(run.dir)) {
      const it = runItem(exp, run, true);
      items.push({ label: it.label, description: it.description, detail: `config.json of ${run.dir}`, source: run.dir });
    }
  }
  if (!items.length) return [];
  const picks = await vscode.window.showQuickPick(items, { title, canPickMany: true, placeHolder: 'Pick two or more runs or experiments', matchOnDescription: true, ignoreFocusOut: true });
  return picks?.map((p) => p.source);
}
