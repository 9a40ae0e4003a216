/**
 * The on-disk contract of sweeps between the trainer (`llava-kd sweep`, the only writer of
 * sweep.json) and the extension (reader). Types and a tolerant reader; pure node fs, no tensors.
 *
 * Layout, inside an experiment folder:
 *   <experiment dir>/sweeps/<sweep id>/sweep.json        SweepManifest, rewritten atomically
 *   <experiment dir>/sweeps/<sweep id>/slurm/sweep-<n>.sbatch   the batch scripts submitted (Slurm)
 *   <experiment dir>/sweeps/<sweep id>/logs/p<NNN>.out|.err     each point's stdout / stderr
 *                                                               (local: the child's; Slurm: --output/--error)
 *   <experiment dir>/runs/<sweep id>-p<NNN>/              each point is an ordinary run folder; its
 *                                                         config.json carries `sweepPoint` (SweepPointRecord)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SWEEPS_DIR = 'sweeps';
export const SWEEP_FILE = 'sweep.json';

/** Where a sweep runs its points: child processes on this machine, or a Slurm job array. */
export const SWEEP_ENGINES = ['local', 'slurm'] as const;
export type SweepEngine = (typeof SWEEP_ENGINES)[number];

/**
 * State of one point. `planned`: not submitted yet; `pending`: queued (Slurm PENDING, or waiting
 * for a local slot or for the point it starts from); `running`; then one of the ends. `timeout`
 * (Slurm TIMEOUT or preemption) and `cancelled`/`failed` points rerun when the sweep is resumed;
 * `completed` points are skipped.
 */
export const POINT_STATES = ['planned', 'pending', 'running', 'completed', 'failed', 'cancelled', 'timeout'] as const;
export type PointState = (typeof POINT_STATES)[number];
export const FINISHED_POINT_STATES: readonly PointState[] = ['completed', 'failed', 'cancelled', 'timeout'];

/** What a point's run records of its sweep (config.json `sweepPoint`). */
export interface SweepPointRecord {
  sweep: string;
  index: number;
  /** e.g. `variant=main distill.temperature=2 seed=1`. */
  key: string;
  /** The key without the seed: the points of one group differ only in their seed. */
  group: string;
  variant: string;
  /** Config path → value of the grid and random dimensions. */
  values: Record<string, unknown>;
  seed: number;
}

export interface SweepPoint extends Omit<SweepPointRecord, 'sweep'> {
  /** The run folder name under `<experiment dir>/runs/`: `<sweep id>-p<NNN>`. */
  runId: string;
  /** `--stages` of the point's run (variants that start from another variant's run), else all stages. */
  stages?: string;
  /** Index of the point whose run folder feeds this one (`--from`); it must complete first. */
  from?: number;
  /** The experiment-file JSON the point resolves (the experiment's, with the variant, values and seed applied). */
  diff: Record<string, unknown>;
  state: PointState;
  /** Slurm: `<array job id>_<task id>` of the latest submission. */
  jobId?: string;
  /** Submissions (Slurm) or starts (local) so far. */
  attempts: number;
  /** Absolute paths of the point's stdout / stderr of its latest attempt. */
  stdout?: string;
  stderr?: string;
  /** Why it failed, when known (the run's error, or the scheduler's state and exit code). */
  error?: string;
  startedAt?: string;
  endedAt?: string;
}

export interface SweepManifest {
  version: 1;
  /** `<YYYYMMDD-HHMMSS>-<name>`: the folder name. */
  id: string;
  name: string;
  /** Hash of the points' diffs: `llava-kd sweep` on an unchanged definition resumes this sweep. */
  hash: string;
  /** Absolute path of the experiment file. */
  experimentFile: string;
  createdAt: string;
  updatedAt: string;
  engine: SweepEngine;
  /** Points run at once (local), or the array's `%` limit (Slurm; 0 = no limit). */
  parallel: number;
  /** `running` while a process follows it (followerPid), `completed` when every point completed, else how it ended. */
  state: 'running' | 'completed' | 'failed' | 'cancelled' | 'stopped';
  /** Pid of the `llava-kd sweep` process running or following the sweep. */
  followerPid?: number;
  /** Host the follower runs on (a pid means nothing on another machine). */
  followerHost?: string;
  /** Slurm: the array jobs submitted, oldest first, with the points of each. */
  jobs?: { jobId: string; script: string; points: number[]; submittedAt: string }[];
  /** Why the sweep could not go on (a refused submission, say), when it stopped for that. */
  error?: string;
  points: SweepPoint[];
}

/** `<sweep id>-p<NNN>` (three digits at least). */
export function pointRunId(sweepId: string, index: number): string {
  return `${sweepId}-p${String(index).padStart(3, '0')}`;
}

/** A point's run folder: `<experiment dir>/runs/<run id>`, the sibling of `<experiment dir>/sweeps/<sweep id>` (the layout above). */
export function pointRunDir(sweepDir: string, p: Pick<SweepPoint, 'runId'>): string {
  return path.join(path.dirname(path.dirname(sweepDir)), 'runs', p.runId);
}

export type SweepRead = { ok: true; manifest: SweepManifest; dir: string } | { ok: false; dir: string; error: string };

/** Reads `<dir>/sweep.json`; a missing or damaged file comes back as an error, never a throw. */
export function readSweep(dir: string): SweepRead {
  const file = path.join(dir, SWEEP_FILE);
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as SweepManifest;
    if (typeof m !== 'object' || m === null || typeof m.id !== 'string' || !Array.isArray(m.points)) return { ok: false, dir, error: `${file}: not a sweep manifest (needs "id" and "points")` };
    return { ok: true, manifest: m, dir };
  } catch (e) {
    return { ok: false, dir, error: `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}` };
  }
}

/** Every sweep folder of an experiment folder, newest first (by id, which starts with its creation time). */
export function listSweeps(experimentDir: string): SweepRead[] {
  const root = path.join(experimentDir, SWEEPS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  return names.sort().reverse().map((n) => readSweep(path.join(root, n)));
}

/** Counts of the points by state. */
export function pointCounts(m: Pick<SweepManifest, 'points'>): Record<PointState, number> {
  const c = Object.fromEntries(POINT_STATES.map((s) => [s, 0])) as Record<PointState, number>;
  for (const p of m.points) c[p.state] = (c[p.state] ?? 0) + 1;
  return c;
}
