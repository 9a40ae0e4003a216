/**
 * The node objects of the Experiments tree and the rows of a run (run -> stages -> checkpoints,
 * its stored teacher), built from run summaries; sweepTreeModel.ts adds the sweep rows,
 * experimentTree.ts the whole tree, views/experimentsTree.ts maps the nodes onto vscode
 * TreeItems. Pure (no vscode), unit-tested in test/host-treeModel.test.ts.
 */
import type { RunStatus, TeacherStoreUse } from '../../common/runFormat';
import { formatAccuracy, formatAccuracyRecord, formatBytes, formatEta, percent } from '../../common/format';
import { checkpointStage, runLabel, stageRows, type ExperimentSummary, type RunSummary, type StageRowState } from './runModel';

export type NodeKind = 'experiment' | 'sweep' | 'sweepGroup' | 'sweepPoint' | 'run' | 'stage' | 'checkpoint' | 'teacher' | 'info';

export interface NodeIcon {
  /** Codicon id, e.g. `sync~spin`. */
  id: string;
  /** Theme colour id, e.g. `testing.iconPassed`. */
  color?: string;
}

export interface TreeNodeModel {
  kind: NodeKind;
  /** Stable id (keeps expansion state across refreshes). */
  id: string;
  label: string;
  description?: string;
  /** Markdown. */
  tooltip?: string;
  icon: NodeIcon;
  /**
   * Matched by `viewItem` in package.json menus: experiment, sweep.<state> (`….cancellable` when
   * Cancel Sweep can act on it), sweepGroup,
   * sweepPoint.<point state> (a point without a run folder yet), run.<state> (`run.<state>.point`
   * for the run of a sweep point), stage.<state>, checkpoint, teacher, info.
   */
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children: TreeNodeModel[];
  experimentFile?: string;
  experimentDir?: string;
  runDir?: string;
  stage?: string;
  /** File path of a checkpoint. */
  path?: string;
  /** The sweep folder of a sweep, group or point row. */
  sweepDir?: string;
  /** The point index of a point row (a run of a sweep point, or a point not started yet). */
  pointIndex?: number;
  /** The existing run folders under a sweep or group row (what its dashboard shows). */
  runDirs?: string[];
  /** Command run on click. */
  command?: { id: string; title: string };
}

/** Icons of run states (the sweep rows use the same for the same states). */
export const RUN_ICONS: Record<string, NodeIcon> = {
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-stop', color: 'charts.yellow' },
  unknown: { id: 'question', color: 'problemsWarningIcon.foreground' },
};

const STAGE_ICONS: Record<StageRowState, NodeIcon> = {
  done: { id: 'check', color: 'testing.iconPassed' },
  running: { id: 'loading~spin', color: 'charts.blue' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-pause', color: 'charts.yellow' },
  pending: { id: 'circle-outline' },
};

/** Escapes markdown control characters in user text. */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

/** One-line description of a run: `kd/dft 120/400 · 30%`, `completed · kd 71.0%`, ... */
export function runDescription(s: RunStatus): string {
  const where = s.stage ? `${s.stage} ${s.step}/${s.totalSteps}` : '';
  const pct = `${percent(s.globalStep, s.globalTotalSteps)}%`;
  const acc = formatAccuracyRecord(s.accuracy);
  const warn = s.warnings?.length ? `⚠ ${s.warnings.length} divergence warning${s.warnings.length === 1 ? '' : 's'}` : '';
  switch (s.state) {
    case 'running':
      return [where || 'starting', pct, s.etaSeconds !== undefined ? formatEta(s.etaSeconds, s.etaRough) : '', warn].filter(Boolean).join(' · ');
    case 'completed':
      return ['completed', acc, warn].filter(Boolean).join(' · ');
    case 'failed':
      return [`failed${where ? ` at ${where}` : ''}`, pct].join(' · ');
    case 'stopped':
      return [`stopped${where ? ` at ${where}` : ''}`, pct].join(' · ');
  }
}

/** `; threads: teacher/sft 2 (1.83 cores busy), …` from status.json, or nothing for runs that predate it. */
function threadsLine(s: NonNullable<RunSummary['status']>): string {
  const ids = Object.keys(s.threads ?? {}) as (keyof NonNullable<typeof s.threads>)[];
  if (!ids.length) return '';
  const one = (id: (typeof ids)[number]) => {
    const c = s.cpuCores?.[id];
    return `${mdEscape(id)} ${s.threads![id]}${c !== undefined ? ` (${c.toFixed(2)} cores busy)` : ''}`;
  };
  return ` · threads: ${ids.map(one).join(', ')}`;
}

/** `#baseline #gamma-0.25 · ` before a run's description, or nothing without tags. */
export function tagsPrefix(run: RunSummary): string {
  return run.meta?.tags?.length ? `${run.meta.tags.map((t) => `#${t}`).join(' ')} · ` : '';
}

/** Tooltip lines of a run's annotations: its note, its tags, a run-meta.json that could not be used. */
function metaLines(run: RunSummary): string[] {
  const out: string[] = [];
  if (run.meta?.note) out.push(`Note: ${mdEscape(run.meta.note)}`);
  if (run.meta?.tags?.length) out.push(`Tags: ${run.meta.tags.map((t) => mdEscape(`#${t}`)).join(' ')}`);
  if (run.metaError) out.push(`⚠ ${mdEscape(run.metaError)} (shown by its id)`);
  return out;
}

/** Bold heading of a run's tooltip: `**name** (run id)` when named, else `**run id**`. */
function runHeading(run: RunSummary): string {
  return run.meta?.name ? `**${mdEscape(run.meta.name)}** (${mdEscape(run.runId)})` : `**${mdEscape(run.runId)}**`;
}

/** Markdown tooltip of a run. */
export function runTooltip(exp: ExperimentSummary, run: RunSummary): string {
  const s = run.status;
  if (!s) return [`${runHeading(run)}`, `Status unreadable: ${mdEscape(run.error ?? 'status.json missing')}`, ...metaLines(run), mdEscape(run.dir)].join('\n\n');
  const lines = [
    `${runHeading(run)} — ${s.state}`,
    ...metaLines(run),
    `Experiment: ${mdEscape(exp.name)}`,
    s.stage ? `Stage: ${mdEscape(s.stage)} (${s.step}/${s.totalSteps}), overall ${s.globalStep}/${s.globalTotalSteps} (${percent(s.globalStep, s.globalTotalSteps)}%)` : 'Stage: not started',
    `Backend: ${mdEscape(s.backend || '?')}${threadsLine(s)}`,
    `Started: ${mdEscape(s.startedAt)}${s.endedAt ? ` · ended ${mdEscape(s.endedAt)}` : ''}`,
  ];
  if (s.state === 'running' && s.etaSeconds !== undefined) lines.push(formatEta(s.etaSeconds, s.etaRough));
  const acc = formatAccuracyRecord(s.accuracy);
  if (acc) lines.push(`Accuracy: ${mdEscape(acc)}`);
  if (s.from) lines.push(`From: ${mdEscape(s.from)}`);
  if (s.error) lines.push(`Error: ${mdEscape(s.error)}`);
  for (const w of (s.warnings ?? []).slice(-3)) lines.push(`⚠ ${mdEscape(w.message)}`);
  lines.push(mdEscape(run.dir));
  return lines.join('\n\n');
}

function checkpointNode(run: RunSummary, c: RunSummary['checkpoints'][number]): TreeNodeModel {
  return {
    kind: 'checkpoint',
    id: `ckpt:${c.path}`,
    label: c.name,
    description: formatBytes(c.size),
    tooltip: `${mdEscape(c.path)}\n\n${formatBytes(c.size)} · ${new Date(c.mtimeMs).toISOString()}`,
    icon: { id: c.name.startsWith('resume') ? 'history' : 'package' },
    contextValue: 'checkpoint',
    collapsible: 'none',
    children: [],
    runDir: run.dir,
    path: c.path,
  };
}

/** Stage ids of the teacher side (vision pre-training + the teacher track), which the teacher store holds. */
const TEACHER_SIDE_STAGE = /^(vision|teacher)\//;

/** The stored teacher a run used (status.json `teacherStore`), as a row above its stages. */
export function teacherStoreNode(run: RunSummary, use: TeacherStoreUse): TreeNodeModel {
  const how = use.source === 'trained' ? 'trained by this run, stored' : use.source === 'package' ? 'reused · shipped with the extension' : 'reused from the teacher store';
  const acc = use.teacherAccuracy !== undefined ? ` · test ${formatAccuracy(use.teacherAccuracy)}` : '';
  return {
    kind: 'teacher',
    id: `teacher:${run.dir}`,
    label: `teacher ${use.key.slice(0, 8)}`,
    description: `${how}${acc}`,
    tooltip: [
      `**Teacher** ${mdEscape(use.key)}`,
      use.source === 'trained'
        ? 'This run trained the vision encoder and the teacher, then stored them: later runs with the same key reuse them.'
        : 'The vision encoder and the teacher came from the teacher store: this run did not train them (its vision/ and teacher/ stages show the stored results).',
      `Entry: ${mdEscape(use.path)}`,
      'Manage stored teachers: LLaVA-KD: Manage Stored Teachers',
    ].join('\n\n'),
    icon: { id: 'mortar-board', color: use.source === 'trained' ? 'charts.blue' : 'charts.green' },
    contextValue: 'teacher',
    collapsible: 'none',
    children: [],
    runDir: run.dir,
    path: use.path,
    command: { id: 'llavaKd.manageTeachers', title: 'Manage Stored Teachers' },
  };
}

/** Run node with its stages (each holding its final checkpoint) and the other checkpoints. */
export function runNode(exp: ExperimentSummary, run: RunSummary): TreeNodeModel {
  const s = run.status;
  const state = s?.state ?? 'unknown';
  const byStage = new Map<string, RunSummary['checkpoints']>();
  const loose: RunSummary['checkpoints'] = [];
  for (const c of run.checkpoints) {
    const st = checkpointStage(c.name);
    if (st && s?.stages.includes(st)) byStage.set(st, [...(byStage.get(st) ?? []), c]);
    else loose.push(c);
  }
  const children: TreeNodeModel[] = [];
  if (s?.teacherStore) children.push(teacherStoreNode(run, s.teacherStore));
  if (s) {
    const reused = s.teacherStore && s.teacherStore.source !== 'trained';
    for (const row of stageRows(s)) {
      const ckpts = byStage.get(row.stage) ?? [];
      const fromStore = reused && row.state === 'done' && TEACHER_SIDE_STAGE.test(row.stage);
      children.push({
        kind: 'stage',
        id: `stage:${run.dir}:${row.stage}`,
        label: row.stage,
        description: fromStore ? 'done · from the teacher store' : row.step !== undefined && row.state !== 'done' ? `${row.state} · ${row.step}/${row.totalSteps} (${percent(row.step, row.totalSteps ?? 0)}%)` : row.state,
        tooltip: fromStore ? `${mdEscape(row.stage)}: not trained here; its checkpoint and evals come from the stored teacher ${mdEscape(s.teacherStore!.key)}` : `${mdEscape(row.stage)}: ${row.state}`,
        icon: STAGE_ICONS[row.state],
        contextValue: `stage.${row.state}`,
        collapsible: ckpts.length ? 'collapsed' : 'none',
        children: ckpts.map((c) => checkpointNode(run, c)),
        runDir: run.dir,
        stage: row.stage,
        experimentFile: exp.file,
      });
    }
  }
  for (const c of loose) children.push(checkpointNode(run, c));
  return {
    kind: 'run',
    id: `run:${run.dir}`,
    label: runLabel(run),
    description: tagsPrefix(run) + (s ? runDescription(s) : `unreadable status`),
    tooltip: runTooltip(exp, run),
    icon: RUN_ICONS[state],
    contextValue: `run.${state}`,
    collapsible: state === 'running' ? 'expanded' : 'collapsed',
    children,
    runDir: run.dir,
    experimentFile: exp.file,
    experimentDir: exp.dir,
    command: { id: 'llavaKd.openDashboard', title: 'Open Dashboard' },
  };
}
