/**
 * The host's in-memory picture of experiments and runs (built from the run folders by
 * runStore.ts), and pure queries on it: which checkpoints a run holds, which runs can feed a
 * stage (`--from`), which can resume, the state of each stage. Pure (no vscode), unit-tested in
 * test/host-treeModel.test.ts.
 */
import { STAGE_KINDS, TRACKS, type RunStatus, type StageId } from '../../common/runFormat';
import type { RunInfo } from '../../common/messages';
import type { RunMeta } from '../../common/runMeta';
import type { CheckpointFile, RunListing } from '../../common/runReader';
import { stageInputs, type StagePlan } from '../../common/stagePlan';
import type { SweepSummary } from './sweepModel';

/** What the host keeps of a checkpoint file (the reader's CheckpointFile, less its ISO time). */
export type CheckpointInfo = Pick<CheckpointFile, 'name' | 'path' | 'size' | 'mtimeMs'>;

/** One run folder as read from disk (`status` already passed through effectiveState). */
export interface RunSummary {
  runId: string;
  dir: string;
  status?: RunStatus;
  /** Why status.json could not be read. */
  error?: string;
  checkpoints: CheckpointInfo[];
  /** The user's annotations (run-meta.json); absent or empty when there are none. */
  meta?: RunMeta;
  /** Why run-meta.json could not be used (the run still shows, by its id). */
  metaError?: string;
}

export interface ExperimentSummary {
  /** Absolute path of kd-experiment.json. */
  file: string;
  /** Its folder. */
  dir: string;
  /** `name` from the file, else the folder name. */
  name: string;
  /** Folder path relative to the workspace (tree label). */
  label: string;
  /** Every run folder, those of sweep points included. */
  runs: RunSummary[];
  /** Its sweeps (`sweeps/<id>/sweep.json`), newest first; absent where they were not read. */
  sweeps?: SweepSummary[];
}

/** `kd-sft.safetensors` (or `kd-sft`) -> `kd/sft`; `resume.safetensors` and others -> null. */
export function checkpointStage(name: string): StageId | null {
  const base = name.replace(/\.safetensors$/, '');
  const m = CHECKPOINT_NAME.exec(base);
  return m ? `${m[1]}/${m[2]}` : null;
}
/** `<track>-<kind>`, as stagePlan.ts `ckptName` writes a stage's final checkpoint. */
const CHECKPOINT_NAME = new RegExp(`^(${TRACKS.join('|')})-(${STAGE_KINDS.join('|')})$`);

/** Stage ids whose final checkpoint the run holds. */
export function finishedCheckpointStages(run: RunSummary): Set<StageId> {
  const s = new Set<StageId>();
  for (const c of run.checkpoints) {
    const st = checkpointStage(c.name);
    if (st) s.add(st);
  }
  return s;
}

/** Sort key: newest first by startedAt, falling back to the run id (which starts with a timestamp). */
export function compareRunsNewestFirst(a: RunSummary, b: RunSummary): number {
  const ta = a.status?.startedAt ?? '';
  const tb = b.status?.startedAt ?? '';
  if (ta !== tb) return ta < tb ? 1 : -1;
  return a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

/**
 * Runs holding, for every requirement, at least one of its alternative stage checkpoints
 * (e.g. `[['kd/sft','baseline/sft'], ['teacher/sft']]` for DFT), newest first.
 */
export function runsWithCheckpoints(runs: RunSummary[], requirements: StageId[][]): RunSummary[] {
  return runs
    .filter((r) => {
      const have = finishedCheckpointStages(r);
      return requirements.every((alts) => alts.some((a) => have.has(a)));
    })
    .sort(compareRunsNewestFirst);
}

/**
 * The `--from` requirements of stage `id` of an experiment's plan (stagePlan.ts `stageInputs`):
 * one list of alternatives per checkpoint it reads, e.g. `[['kd/sft'], ['teacher/sft'],
 * ['vision/vision']]` for DFT. The student LM is left out: a run trains it itself (stagesFrom).
 * @throws when the plan has no stage `id`
 */
export function fromRequirements(plan: StagePlan[], id: StageId): StageId[][] {
  return stageInputs(plan, id).filter((s) => s !== STUDENT_LM).map((s) => [s]);
}
const STUDENT_LM = 'student/lm';

/**
 * Stages of a `--from` run: `wanted`, preceded by the student LM when one of them starts from it
 * (plan) and the source run lacks its checkpoint.
 */
export function stagesFrom(run: RunSummary, wanted: readonly StageId[], plan: StagePlan[]): StageId[] {
  const have = finishedCheckpointStages(run);
  const needsLm = wanted.some((w) => plan.some((s) => s.id === w) && stageInputs(plan, w).includes(STUDENT_LM));
  return needsLm && !have.has(STUDENT_LM) && !wanted.includes(STUDENT_LM) ? [STUDENT_LM, ...wanted] : [...wanted];
}

/** What the tree and the pickers call a run: its name (run-meta.json) when set, else its id. */
export function runLabel(run: RunSummary): string {
  return run.meta?.name ?? run.runId;
}

/** Runs that `resume` can continue: stopped or failed (dead pid counts as failed), newest first. */
export function resumableRuns(runs: RunSummary[]): RunSummary[] {
  return runs.filter((r) => r.status && (r.status.state === 'failed' || r.status.state === 'stopped')).sort(compareRunsNewestFirst);
}

export type StageRowState = 'done' | 'running' | 'failed' | 'stopped' | 'pending';

export interface StageRow {
  stage: StageId;
  state: StageRowState;
  /** Steps of the current stage (only on the current one). */
  step?: number;
  totalSteps?: number;
}

/** The stages of a run with done / running / failed / stopped / pending. */
export function stageRows(status: RunStatus): StageRow[] {
  const done = new Set(status.completedStages);
  return status.stages.map((stage) => {
    if (done.has(stage)) return { stage, state: 'done' as const };
    if (stage === status.stage) {
      const state: StageRowState = status.state === 'running' ? 'running' : status.state === 'failed' ? 'failed' : status.state === 'stopped' ? 'stopped' : 'done';
      return { stage, state, step: status.step, totalSteps: status.totalSteps };
    }
    return { stage, state: 'pending' as const };
  });
}

/** Header facts of a run for the webviews. */
export function toRunInfo(exp: ExperimentSummary, run: RunSummary): RunInfo {
  const s = run.status;
  const info: RunInfo = {
    key: run.dir,
    runId: run.runId,
    experimentName: exp.name,
    experimentFile: exp.file,
    state: s?.state ?? 'failed',
    backend: s?.backend ?? '?',
    stage: s?.stage ?? null,
    step: s?.step ?? 0,
    totalSteps: s?.totalSteps ?? 0,
    globalStep: s?.globalStep ?? 0,
    globalTotalSteps: s?.globalTotalSteps ?? 0,
  };
  if (s?.etaSeconds !== undefined) info.etaSeconds = s.etaSeconds;
  if (s?.etaRough) info.etaRough = true;
  if (s?.error) info.error = s.error;
  if (s?.accuracy) info.accuracy = s.accuracy;
  if (!s) info.statusError = run.error ?? 'status.json missing';
  if (run.meta?.name) info.name = run.meta.name;
  if (run.meta?.tags?.length) info.tags = [...run.meta.tags];
  if (run.meta?.note) info.note = run.meta.note;
  return info;
}

/** Finds a run by its folder over all experiments. */
export function findRun(experiments: ExperimentSummary[], runDir: string): { exp: ExperimentSummary; run: RunSummary } | undefined {
  for (const exp of experiments) {
    const run = exp.runs.find((r) => r.dir === runDir);
    if (run) return { exp, run };
  }
  return undefined;
}

/** The newest run of an experiment that has a config (for "Compare with Last Run"). */
export function lastRun(exp: ExperimentSummary): RunSummary | undefined {
  return [...exp.runs].sort(compareRunsNewestFirst)[0];
}

/** Converts a runReader listing: the status carries the effective state (dead pid -> failed). */
export function fromReaderSummary(r: RunListing): RunSummary {
  let status: RunStatus | undefined;
  if (r.status) {
    status = { ...r.status };
    if (r.effective) {
      status.state = r.effective.state;
      if (r.effective.error !== undefined) status.error = r.effective.error;
    }
  }
  return {
    runId: r.runId,
    dir: r.dir,
    status,
    error: r.error?.message,
    checkpoints: r.checkpoints.map((c) => ({ name: c.name, path: c.path, size: c.size, mtimeMs: c.mtimeMs })),
  };
}
