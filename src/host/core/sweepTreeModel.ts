/**
 * The sweep rows of the Experiments tree: a sweep (its name; `5/8 completed · 1 running · slurm`,
 * the job ids on hover; icon by state) -> its groups of points that differ only in their seed
 * (`2 seeds · 2/2 completed`) -> its points: the run row of the point's run folder (treeModel.ts
 * runNode) with the point's queue state, job id and elapsed time, or a plain row for a point
 * without a run folder yet. Pure (no vscode), unit-tested in test/host-sweepTree.test.ts.
 * Imports src/common and src/host/core only.
 */
import { pointRunDir } from '../../common/sweepFormat';
import { formatDuration } from '../../common/format';
import type { PointState, SweepPoint } from '../../common/sweepFormat';
import type { ExperimentSummary, RunSummary } from './runModel';
import { canCancel, pointElapsedSeconds, pointName, pointsPhrase, sweepGroups, type SweepGroup, type SweepSummary } from './sweepModel';
import { mdEscape, RUN_ICONS, runDescription, runNode, runTooltip, tagsPrefix, type NodeIcon, type TreeNodeModel } from './treeModel';

const SWEEP_ICONS: Record<SweepSummary['state'], NodeIcon> = {
  running: RUN_ICONS.running,
  completed: RUN_ICONS.completed,
  failed: RUN_ICONS.failed,
  cancelled: { id: 'circle-slash', color: 'charts.yellow' },
  stopped: RUN_ICONS.stopped,
  unreadable: { id: 'warning', color: 'problemsWarningIcon.foreground' },
};

const POINT_ICONS: Record<PointState, NodeIcon> = {
  planned: { id: 'circle-outline' },
  pending: { id: 'clock' },
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  cancelled: { id: 'circle-slash', color: 'charts.yellow' },
  timeout: { id: 'watch', color: 'testing.iconFailed' },
};

/** The state a group shows: running while one runs, else the worst end, else waiting. */
export function groupState(points: readonly SweepPoint[]): PointState {
  const has = (s: PointState): boolean => points.some((p) => p.state === s);
  for (const s of ['running', 'failed', 'timeout', 'cancelled'] as const) if (has(s)) return s;
  if (points.length && points.every((p) => p.state === 'completed')) return 'completed';
  return has('pending') || has('completed') ? 'pending' : 'planned';
}

/** `PENDING`, `TIMEOUT` …: the queue state of a point with a run folder, where the run's own state does not already say it. */
function queueWord(p: SweepPoint, run: RunSummary): string {
  const runState = run.status?.state;
  if (runState === p.state || (runState === 'stopped' && p.state === 'cancelled')) return '';
  return p.state.toUpperCase();
}

/** What a point row says before the run's own description: `seed 1 · PENDING · job 12_3 · 1m 20s`. */
function pointFacts(p: SweepPoint, state: string, nowMs: number): string[] {
  const elapsed = pointElapsedSeconds(p, nowMs);
  return [`seed ${p.seed}`, state, p.jobId ? `job ${p.jobId}` : '', elapsed !== undefined ? formatDuration(elapsed) : ''].filter(Boolean);
}

/** The tooltip lines a point adds above its run's. */
function pointTooltip(sweepName: string, p: SweepPoint, nowMs: number): string[] {
  const elapsed = pointElapsedSeconds(p, nowMs);
  const lines = [`**${pointName(p.index)}** of sweep ${mdEscape(sweepName)} — ${p.state.toUpperCase()}`, `Key: ${mdEscape(p.key)}`];
  if (p.jobId) lines.push(`Slurm job: ${mdEscape(p.jobId)}${p.attempts > 1 ? ` (submission ${p.attempts})` : ''}`);
  else if (p.attempts > 1) lines.push(`Attempt ${p.attempts}`);
  if (p.startedAt) lines.push(`Started ${mdEscape(p.startedAt)}${p.endedAt ? ` · ended ${mdEscape(p.endedAt)}` : ''}${elapsed !== undefined ? ` · ${formatDuration(elapsed)}` : ''}`);
  if (p.from !== undefined) lines.push(`Starts from ${pointName(p.from)}${p.stages ? ` (stages ${mdEscape(p.stages)})` : ''}`);
  if (p.error) lines.push(`Error: ${mdEscape(p.error)}`);
  return lines;
}

/** A point row: its run's row when the run folder exists, else a plain row with its state. */
export function pointNode(exp: ExperimentSummary, s: SweepSummary, p: SweepPoint, run: RunSummary | undefined, nowMs: number): TreeNodeModel {
  const name = s.manifest?.name ?? s.id;
  if (run) {
    const base = runNode(exp, run);
    const own = run.status ? runDescription(run.status) : 'unreadable status';
    return {
      ...base,
      // The run id is `<sweep id>-pNNN`: at the sidebar's width only the sweep id would show. The
      // point's own name (or the user's name for the run) leads; the id is in the tooltip.
      label: run.meta?.name ?? pointName(p.index),
      description: tagsPrefix(run) + [...pointFacts(p, queueWord(p, run), nowMs), own].join(' · '),
      tooltip: [...pointTooltip(name, p, nowMs), ...(run.status?.job?.host ? [`Host: ${mdEscape(run.status.job.host)}`] : []), '---', runTooltip(exp, run)].join('\n\n'),
      contextValue: `${base.contextValue}.point`,
      sweepDir: s.dir,
      pointIndex: p.index,
    };
  }
  return {
    kind: 'sweepPoint',
    id: `point:${s.dir}:${p.index}`,
    label: pointName(p.index),
    description: [...pointFacts(p, p.state, nowMs), p.error ?? ''].filter(Boolean).join(' · '),
    tooltip: [...pointTooltip(name, p, nowMs), `Run folder (not created yet): ${mdEscape(pointRunDir(s.dir, p))}`].join('\n\n'),
    icon: POINT_ICONS[p.state],
    contextValue: `sweepPoint.${p.state}`,
    collapsible: 'none',
    children: [],
    experimentFile: exp.file,
    experimentDir: exp.dir,
    sweepDir: s.dir,
    pointIndex: p.index,
  };
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

function groupNode(exp: ExperimentSummary, s: SweepSummary, g: SweepGroup, runs: Map<string, RunSummary>, nowMs: number): TreeNodeModel {
  const state = groupState(g.points);
  const children = g.points.map((p) => pointNode(exp, s, p, runs.get(p.runId), nowMs));
  const values = Object.entries(g.points[0]?.values ?? {}).map(([k, v]) => `${mdEscape(k)} = ${mdEscape(JSON.stringify(v))}`);
  return {
    kind: 'sweepGroup',
    id: `sweepGroup:${s.dir}:${g.group}`,
    label: g.label,
    description: `${plural(g.points.length, 'seed')} · ${pointsPhrase(g.points)}`,
    tooltip: [`**${mdEscape(g.label)}**`, `Variant: ${mdEscape(g.points[0]?.variant ?? '?')}`, ...values, `Seeds: ${g.points.map((p) => p.seed).join(', ')}`].join('\n\n'),
    icon: POINT_ICONS[state],
    contextValue: 'sweepGroup',
    collapsible: state === 'running' ? 'expanded' : 'collapsed',
    children,
    experimentFile: exp.file,
    experimentDir: exp.dir,
    sweepDir: s.dir,
    runDirs: g.points.filter((p) => runs.has(p.runId)).map((p) => runs.get(p.runId)!.dir),
  };
}

/** Markdown tooltip of a sweep. */
function sweepTooltip(exp: ExperimentSummary, s: SweepSummary): string {
  const m = s.manifest!;
  const lines = [
    `**${mdEscape(m.name)}** (${mdEscape(m.id)}) — ${s.state}`,
    `Experiment: ${mdEscape(exp.name)}`,
    `Engine: ${m.engine}${m.engine === 'local' ? ` · ${m.parallel} at a time` : m.parallel > 0 ? ` · at most ${m.parallel} at a time` : ''}`,
    `Points: ${pointsPhrase(m.points)}`,
  ];
  if (m.jobs?.length) lines.push(`Slurm jobs: ${m.jobs.map((j) => `${mdEscape(j.jobId)} (${plural(j.points.length, 'point')}, submitted ${mdEscape(j.submittedAt)})`).join(', ')}`);
  if (m.followerPid !== undefined && m.state === 'running') {
    lines.push(s.followerGone
      ? `Its follower (pid ${m.followerPid}${m.followerHost ? ` on ${mdEscape(m.followerHost)}` : ''}) is gone: run the sweep again to resume it`
      : `Followed by pid ${m.followerPid}${m.followerHost ? ` on ${mdEscape(m.followerHost)}` : ''}`);
  }
  if (m.error) lines.push(`Error: ${mdEscape(m.error)}`);
  lines.push(`Created ${mdEscape(m.createdAt)} · updated ${mdEscape(m.updatedAt)}`, mdEscape(s.dir));
  return lines.join('\n\n');
}

/** A sweep row with its groups (an unreadable sweep.json: one row saying why). */
export function sweepNode(exp: ExperimentSummary, s: SweepSummary, runs: Map<string, RunSummary>, nowMs: number): TreeNodeModel {
  const base = { id: `sweep:${s.dir}`, experimentFile: exp.file, experimentDir: exp.dir, sweepDir: s.dir, icon: SWEEP_ICONS[s.state], contextValue: `sweep.${s.state}${canCancel(s) ? '.cancellable' : ''}` };
  const m = s.manifest;
  if (!m) {
    return { ...base, kind: 'sweep', label: s.id, description: 'unreadable sweep.json', tooltip: `**${mdEscape(s.id)}**\n\n${mdEscape(s.error ?? 'sweep.json unreadable')}`, collapsible: 'none', children: [] };
  }
  return {
    ...base,
    kind: 'sweep',
    label: m.name,
    description: [s.state === 'stopped' ? 'stopped' : '', pointsPhrase(m.points), m.engine].filter(Boolean).join(' · '),
    tooltip: sweepTooltip(exp, s),
    collapsible: s.state === 'running' ? 'expanded' : 'collapsed',
    children: sweepGroups(m).map((g) => groupNode(exp, s, g, runs, nowMs)),
    runDirs: m.points.filter((p) => runs.has(p.runId)).map((p) => runs.get(p.runId)!.dir),
  };
}

/** The sweep rows of an experiment (newest first) and the run ids of their points (which show only there). */
export function sweepSection(exp: ExperimentSummary, nowMs: number): { nodes: TreeNodeModel[]; runIds: Set<string> } {
  const sweeps = exp.sweeps ?? [];
  const runIds = new Set(sweeps.flatMap((s) => s.manifest?.points.map((p) => p.runId) ?? []));
  const runs = new Map(exp.runs.filter((r) => runIds.has(r.runId)).map((r) => [r.runId, r]));
  return { nodes: sweeps.map((s) => sweepNode(exp, s, runs, nowMs)), runIds };
}
