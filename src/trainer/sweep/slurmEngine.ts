/**
 * The Slurm sweep engine: submits the points as job arrays (one array task per point; a variant
 * that starts from another is its own array, `aftercorr` on its source's array, so task k waits
 * for task k), records each submission and job id in sweep.json before anything else, then
 * follows the tasks with squeue (active), scontrol (recently ended) and sacct (where accounting
 * is configured) until every point ended. A stop scancels the sweep's jobs. Points still queued
 * or running from an earlier follower are followed, not submitted again.
 */
import { pointRunDir, type SweepPoint } from '../../common/sweepFormat';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SlurmSpec } from '../config';
import { endedPointState, runFolderState, saveSweep } from './manifest';
import { flush, setPoint, sleep, type Follower } from './follow';
import { batchScript, execSlurm, parseSacct, parseSbatch, parseScontrolJobs, parseSqueue, pointStateOf, SQUEUE_FORMAT, type QueueRow, type ScontrolJob, type SlurmExec } from './slurm';

export interface SlurmOptions {
  spec: SlurmSpec;
  parallel: number;
  node: string;
  cli: string;
  exec?: SlurmExec;
}

/** Refusal before anything is written: sbatch missing, or a partition the cluster does not have. */
export async function checkSlurm(spec: SlurmSpec, exec: SlurmExec = execSlurm): Promise<void> {
  try {
    await exec('sbatch', ['--version']);
  } catch (e) {
    const missing = (e as { code?: string }).code === 'ENOENT';
    throw new Error(missing ? 'sbatch not found on PATH: --engine slurm needs the Slurm client commands (run on the cluster\'s login node, e.g. through VS Code Remote-SSH)' : `sbatch does not run: ${(e as Error).message}`);
  }
  let parts: string;
  try {
    parts = await exec('sinfo', ['-h', '-o', '%P']);
  } catch (e) {
    throw new Error(`sinfo failed, so the cluster cannot be reached: ${(e as Error).message}`);
  }
  const known = parts.split('\n').map((s) => s.trim().replace(/\*$/, '')).filter(Boolean);
  for (const want of (spec.partition ?? '').split(',').filter(Boolean)) {
    if (!known.includes(want)) throw new Error(`slurm.partition: the cluster has no partition "${want}"; it has: ${known.join(', ') || '(none)'}`);
  }
}

/** Submits one array; returns its job id. The script and the submission are in sweep.json first (with the error when sbatch refuses). */
async function submit(f: Follower, o: SlurmOptions, points: SweepPoint[], afterCorr: { job: string; taskOf: (p: SweepPoint) => number } | undefined): Promise<string> {
  const m = f.manifest;
  const n = (m.jobs?.length ?? 0) + 1;
  const slurmDir = path.join(f.dir, 'slurm');
  const logDir = path.join(f.dir, 'logs');
  fs.mkdirSync(slurmDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const tasks = new Map<number, number>();
  points.forEach((p, i) => tasks.set(afterCorr ? afterCorr.taskOf(p) : i, p.index));
  const script = path.join(slurmDir, `sweep-${n}.sbatch`);
  fs.writeFileSync(script, batchScript({ name: `llava-kd-${m.id}`, tasks, parallel: o.parallel, logDir, sweepDir: f.dir, node: o.node, cli: o.cli, spec: o.spec, afterCorr: afterCorr?.job }), { mode: 0o755 });
  let jobId: string;
  try {
    jobId = parseSbatch(await (o.exec ?? execSlurm)('sbatch', ['--parsable', script]));
  } catch (e) {
    m.error = `submission ${n} (${script}) refused: ${(e as Error).message}`;
    saveSweep(f.dir, m);
    throw new Error(m.error);
  }
  (m.jobs ??= []).push({ jobId, script, points: points.map((p) => p.index), submittedAt: new Date().toISOString() });
  for (const [k, idx] of tasks) {
    const p = m.points[idx];
    const id = `${jobId}_${k}`;
    setPoint(f, p, 'pending', { jobId: id, attempts: p.attempts + 1, stdout: path.join(logDir, `slurm-${id}.out`), stderr: path.join(logDir, `slurm-${id}.err`), endedAt: undefined, error: undefined });
  }
  flush(f);
  f.log(`submitted ${jobId}: ${tasks.size} array task(s)${afterCorr ? `, each after the matching task of ${afterCorr.job}` : ''} (${script})`);
  return jobId;
}

/** The array job of a `<job>_<task>` id. */
const arrayOf = (jobId: string): string => jobId.split('_')[0];
const taskOf = (jobId: string): number => Number(jobId.split('_')[1]);

/** Submits what has to run: the points without a source (or whose source completed) first, then each dependent variant after its sources' arrays. */
async function submitAll(f: Follower, o: SlurmOptions, todo: SweepPoint[]): Promise<void> {
  const byIndex = (i: number) => f.manifest.points[i];
  const free = todo.filter((p) => p.from === undefined || byIndex(p.from).state === 'completed');
  if (free.length) await submit(f, o, free, undefined);
  const dependent = todo.filter((p) => !free.includes(p));
  // One array per (source array, variant): task k of it waits for task k of the source array.
  const groups = new Map<string, SweepPoint[]>();
  for (const p of dependent) {
    const src = byIndex(p.from!);
    if (!src.jobId || !['pending', 'running'].includes(src.state)) {
      setPoint(f, p, 'failed', { error: `point ${src.index} (${src.key}), which it starts from, ended ${src.state}` });
      continue;
    }
    const k = `${arrayOf(src.jobId)}|${p.variant}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  flush(f);
  for (const [k, ps] of groups) {
    const job = k.split('|')[0];
    await submit(f, o, ps, { job, taskOf: (p) => taskOf(byIndex(p.from!).jobId!) });
  }
}

/** States of the sweep's tasks that squeue no longer lists: scontrol (jobs Slurm still holds), then sacct. */
async function endedStates(exec: SlurmExec, arrays: string[]): Promise<Map<string, ScontrolJob>> {
  const out = new Map<string, ScontrolJob>();
  for (const a of arrays) {
    try {
      for (const j of parseScontrolJobs(await exec('scontrol', ['show', 'job', '-o', a]))) out.set(j.jobId, j);
    } catch { /* purged from slurmctld's memory (MinJobAge): sacct or the run folder tell */ }
  }
  try {
    const rows = parseSacct(await exec('sacct', ['-n', '-P', '-X', '-j', arrays.join(','), '-o', 'JobID,State,ExitCode,Elapsed']));
    for (const r of rows) if (!out.has(r.jobId)) out.set(r.jobId, r);
  } catch { /* accounting storage is disabled on this cluster */ }
  return out;
}

/** Follows the points in the queue until none is pending or running; scancels them when a stop is asked. */
async function followQueue(f: Follower, o: SlurmOptions): Promise<void> {
  const exec = o.exec ?? execSlurm;
  let cancelled = false;
  for (;;) {
    flush(f);
    const live = f.manifest.points.filter((p) => p.jobId && (p.state === 'pending' || p.state === 'running'));
    if (!live.length) return;
    if (f.stop.requested && !cancelled) {
      cancelled = true;
      const arrays = [...new Set(live.map((p) => arrayOf(p.jobId!)))];
      f.log(`cancelling: scancel ${arrays.join(' ')}`);
      try {
        await exec('scancel', arrays);
      } catch (e) {
        f.log(`scancel failed: ${(e as Error).message}`);
      }
    }
    const arrays = [...new Set(live.map((p) => arrayOf(p.jobId!)))];
    let rows: QueueRow[];
    try {
      rows = parseSqueue(await exec('squeue', ['-h', '-r', '-j', arrays.join(','), '-o', SQUEUE_FORMAT]));
    } catch (e) {
      // squeue of jobs that all ended fails with "Invalid job id specified" on some versions.
      if (!/Invalid job id/i.test((e as Error).message)) {
        f.log(`squeue failed (${(e as Error).message}); retrying`);
        await sleep(f.pollMs);
        continue;
      }
      rows = [];
    }
    const queued = new Map(rows.map((r) => [r.jobId, r]));
    const gone = live.filter((p) => !queued.has(p.jobId!) || !['pending', 'running'].includes(pointStateOf(queued.get(p.jobId!)!.state)));
    const ended = gone.length ? await endedStates(exec, [...new Set(gone.map((p) => arrayOf(p.jobId!)))]) : new Map<string, ScontrolJob>();
    for (const p of live) {
      const q = queued.get(p.jobId!);
      if (q && !gone.includes(p)) {
        setPoint(f, p, pointStateOf(q.state));
        continue;
      }
      const e: ScontrolJob | undefined = ended.get(p.jobId!) ?? (q ? { jobId: q.jobId, state: q.state } : undefined);
      if (e) {
        const st = pointStateOf(e.state);
        if (st === 'pending' || st === 'running') continue; // still held, e.g. COMPLETING
        const folder = endedPointState(pointRunDir(f.dir, p), 'timeout');
        // The run folder is the truth of what the point achieved; Slurm says why it ended otherwise.
        if (folder.state === 'completed') setPoint(f, p, 'completed');
        else setPoint(f, p, st === 'completed' ? 'failed' : st, { error: folder.error ?? `Slurm ${e.state}${e.exitCode ? `, exit code ${e.exitCode}` : ''}${e.reason && e.reason !== 'None' ? `, ${e.reason}` : ''}` });
      } else {
        // Slurm keeps no record of the task (a pending array task cancelled with scancel vanishes
        // at once; ended ones after MinJobAge) and accounting is off: the run folder tells.
        const r = runFolderState(pointRunDir(f.dir, p));
        if (r.state === 'completed') setPoint(f, p, 'completed');
        else if (r.state === 'absent') setPoint(f, p, 'cancelled', { error: 'left the queue before it started, without a record: cancelled (scancel), or its start failed (see its stderr)' });
        else if (r.state === 'stopped') setPoint(f, p, f.stop.requested ? 'cancelled' : 'timeout', { error: 'stopped by a signal (scancel, the time limit or preemption); it resumes from its checkpoint when the sweep is resumed' });
        else setPoint(f, p, 'failed', { error: r.error ?? 'failed (see its stderr)' });
      }
    }
    await sleep(f.pollMs);
  }
}

/**
 * Runs `todo` (the points still to run) on Slurm and follows every point of the sweep in the
 * queue until all ended. Points in the queue from an earlier follower are followed only.
 */
export async function runSlurm(f: Follower, todo: SweepPoint[], o: SlurmOptions): Promise<void> {
  const inQueue = todo.filter((p) => p.jobId && (p.state === 'pending' || p.state === 'running'));
  const fresh = todo.filter((p) => !inQueue.includes(p));
  if (inQueue.length) f.log(`${inQueue.length} point(s) are still in the queue from an earlier submission: following them`);
  if (fresh.length && !f.stop.requested) await submitAll(f, o, fresh);
  await followQueue(f, o);
  // Dependents whose source failed are killed by Slurm (kill-on-invalid-dep) and seen as CANCELLED above.
}
