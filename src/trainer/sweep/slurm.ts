/**
 * The Slurm commands a sweep uses (sbatch, squeue, scontrol, sacct, scancel, sinfo) and the
 * parsing of their outputs, with explicit `-o` formats (the JSON outputs change between Slurm
 * versions), plus the batch script of one submission. Parsers are pure and unit-tested; the
 * commands run through `SlurmExec`, which tests can replace with a fake cluster.
 */
import { execFile } from 'node:child_process';
import type { PointState } from '../../common/sweepFormat';
import type { SlurmSpec } from '../config';

/** Runs a Slurm command; resolves with its stdout, rejects with an Error carrying stderr and `code` (ENOENT when missing). */
export type SlurmExec = (cmd: string, args: string[]) => Promise<string>;

export const execSlurm: SlurmExec = (cmd, args) => new Promise((resolve, reject) => {
  execFile(cmd, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
    if (err) {
      const e = new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`) as Error & { code?: string | number };
      e.code = (err as NodeJS.ErrnoException).code;
      reject(e);
    } else resolve(stdout);
  });
});

/** `sbatch --parsable` prints `<job id>` or `<job id>;<cluster>`. */
export function parseSbatch(stdout: string): string {
  const id = stdout.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (!/^\d+$/.test(id)) throw new Error(`sbatch --parsable printed ${JSON.stringify(stdout.trim().slice(0, 200))}, not a job id`);
  return id;
}

/** The squeue format the follower asks for (`-r`: one line per array task). */
export const SQUEUE_FORMAT = '%i|%T|%M|%R';

export interface QueueRow {
  /** `<array job>_<task>` for array tasks, else the job id. */
  jobId: string;
  state: string;
  /** Elapsed time as Slurm prints it (`0:12`, `1-02:03:04`). */
  elapsed: string;
  reason: string;
}

/** Rows of `squeue -h -r -o '%i|%T|%M|%R'`. */
export function parseSqueue(stdout: string): QueueRow[] {
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [jobId, state, elapsed, ...reason] = l.split('|');
    return { jobId, state, elapsed: elapsed ?? '', reason: reason.join('|') };
  }).filter((r) => r.jobId && r.state);
}

export interface ScontrolJob {
  jobId: string;
  state: string;
  exitCode?: string;
  reason?: string;
  runTime?: string;
}

/**
 * Jobs of `scontrol show job -o <id>` (one line each; an array's tasks each on their own line,
 * `ArrayJobId=… ArrayTaskId=…`, while Slurm still holds them: MinJobAge).
 */
export function parseScontrolJobs(stdout: string): ScontrolJob[] {
  const out: ScontrolJob[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const f: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!(m[1] in f)) f[m[1]] = m[2];
    if (!f.JobId || !f.JobState) continue;
    const jobId = f.ArrayJobId && f.ArrayTaskId && /^\d+$/.test(f.ArrayTaskId) ? `${f.ArrayJobId}_${f.ArrayTaskId}` : f.JobId;
    out.push({ jobId, state: f.JobState, exitCode: f.ExitCode, reason: f.Reason, runTime: f.RunTime });
  }
  return out;
}

/** Rows of `sacct -n -P -X -j <ids> -o JobID,State,ExitCode,Elapsed` (accounting configured). */
export function parseSacct(stdout: string): ScontrolJob[] {
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [jobId, state, exitCode, runTime] = l.split('|');
    // `CANCELLED by 0` → CANCELLED.
    return { jobId, state: (state ?? '').split(' ')[0], exitCode, runTime };
  }).filter((r) => r.jobId && r.state);
}

/** A Slurm job state as a point state. */
export function pointStateOf(slurmState: string): PointState {
  const s = slurmState.split(/[ +]/)[0].toUpperCase();
  if (['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT'].includes(s)) return 'pending';
  if (['RUNNING', 'COMPLETING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING', 'RESIZING', 'STOPPED'].includes(s)) return 'running';
  if (s === 'COMPLETED') return 'completed';
  if (s === 'CANCELLED') return 'cancelled';
  if (s === 'TIMEOUT' || s === 'PREEMPTED' || s === 'DEADLINE') return 'timeout';
  return 'failed';
}

/** Seconds of a Slurm duration (`12`, `3:04`, `1:02:03`, `2-01:02:03`). */
export function slurmSeconds(t: string): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(t.trim());
  if (!m) return /^\d+$/.test(t.trim()) ? Number(t) : undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/** Array indices as Slurm's `--array` list: `0-3,5,7-9`. */
export function arrayList(indices: number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface BatchScript {
  /** Job name. */
  name: string;
  /** Array index → point index (the script maps `$SLURM_ARRAY_TASK_ID` to the point). */
  tasks: Map<number, number>;
  /** The array's `%` limit (0: none). */
  parallel: number;
  /** Log folder: `slurm-%A_%a.out|.err` inside. */
  logDir: string;
  sweepDir: string;
  node: string;
  cli: string;
  spec: SlurmSpec;
  /** `aftercorr:<job>`: task k starts when task k of that array completed successfully. */
  afterCorr?: string;
}

/** The text of a submission's batch script. */
export function batchScript(b: BatchScript): string {
  const keys = [...b.tasks.keys()].sort((x, y) => x - y);
  const lines = [
    '#!/bin/bash',
    '# Written by llava-kd sweep: one array task per sweep point (task id → point index below).',
    `#SBATCH --job-name=${b.name}`,
    `#SBATCH --array=${arrayList(keys)}${b.parallel > 0 ? `%${b.parallel}` : ''}`,
    `#SBATCH --output=${b.logDir}/slurm-%A_%a.out`,
    `#SBATCH --error=${b.logDir}/slurm-%A_%a.err`,
    '#SBATCH --open-mode=append',
  ];
  if (b.spec.partition) lines.push(`#SBATCH --partition=${b.spec.partition}`);
  if (b.spec.time) lines.push(`#SBATCH --time=${b.spec.time}`);
  lines.push(`#SBATCH --cpus-per-task=${b.spec.cpusPerTask ?? 1}`);
  if (b.spec.mem !== undefined) lines.push(`#SBATCH --mem=${b.spec.mem}`);
  if (b.afterCorr) lines.push(`#SBATCH --dependency=aftercorr:${b.afterCorr}`, '#SBATCH --kill-on-invalid-dep=yes');
  for (const x of b.spec.extra ?? []) lines.push(`#SBATCH ${x}`);
  lines.push('set -u');
  for (const x of b.spec.setup ?? []) lines.push(x);
  lines.push('case "$SLURM_ARRAY_TASK_ID" in');
  for (const k of keys) lines.push(`  ${k}) POINT=${b.tasks.get(k)} ;;`);
  lines.push('  *) echo "llava-kd sweep: array task $SLURM_ARRAY_TASK_ID is not in this script" >&2; exit 2 ;;', 'esac');
  // exec: the trainer is the job's process, so scancel and the time limit's SIGTERM reach it (it checkpoints and exits).
  lines.push(`exec ${q(b.node)} ${q(b.cli)} sweep-point ${q(b.sweepDir)} "$POINT" --json`);
  return lines.join('\n') + '\n';
}
