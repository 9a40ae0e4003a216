/**
 * `llava-kd sweep <kd-experiment.json>`: checks the file and every point of its `sweep` section
 * (exit 2 before anything is written), then creates the sweep folder or resumes the earlier one of
 * the same definition, runs the points on the local or the Slurm engine and follows them to the
 * end. `--dry-run` lists the points. `sweep-cancel <sweep dir>` stops a sweep another process
 * follows. Exit codes: 0 every point completed, 1 some failed, 130 cancelled, 2 bad input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import * as path from 'node:path';
import { isProcessAlive } from '../../common/runReader';
import { pointCounts, type SweepEngine } from '../../common/sweepFormat';
import { formatIssue, parseConfigText, type SlurmSpec, type SweepSpec } from '../config';
import { checkExperimentFile, resolveConfigPath } from '../config/loadFile';
import { InputError } from '../cli/runCommand';
import { checkPoints, planPoints, pointsHash, type PlannedPoint } from './expand';
import { createSweep, findSweep, loadSweep, saveSweep } from './manifest';
import { finalState, finish, pointsToRun, type Follower, type SweepEvent } from './follow';
import { runLocal } from './localEngine';
import { checkSlurm, runSlurm } from './slurmEngine';
import { execSlurm, type SlurmExec } from './slurm';

export interface SweepArgs {
  experiment: string;
  engine?: SweepEngine;
  parallel?: number;
  dryRun?: boolean;
  json?: boolean;
  /** Start a new sweep even when one of the same definition exists. */
  fresh?: boolean;
  /** Milliseconds between checks of the children / the queue (default 2000). */
  pollMs?: number;
  /** Extra arguments of every point's run (e.g. `--backend wasm`). */
  pointArgs?: string[];
  /** Tests: a fake Slurm. */
  exec?: SlurmExec;
}

export interface PlannedSweep {
  file: string;
  name: string;
  spec: SweepSpec;
  slurm: SlurmSpec;
  points: PlannedPoint[];
  hash: string;
  /** Training threads of one run (config `workers`; 0 = auto counts 1). */
  workers: number;
}

/** Reads, checks and expands an experiment file's sweep; throws InputError naming the file, line and field. */
export function planSweep(experimentFile: string): PlannedSweep {
  const file = path.resolve(experimentFile);
  const { config, errors } = checkExperimentFile(file);
  if (!config) throw new InputError(errors.map((e) => `${formatIssue(file, e)} (${e.message})`).join('\n'));
  const raw = parseConfigText(readFileSync(file, 'utf8'), file).value as Record<string, unknown>;
  if (raw.sweep === undefined) throw new InputError(`${file}: no "sweep" section; add one, e.g. "sweep": { "grid": { "distill.temperature": [1, 2] }, "seeds": 2 }`);
  const { sweep, slurm, $schema: _s, ...experiment } = raw;
  const spec = sweep as SweepSpec;
  let points: PlannedPoint[];
  try {
    points = planPoints(experiment, spec, config.seed);
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  const problems = checkPoints(points, file, { fileExists: (rel) => existsSync(resolveConfigPath(file, rel)) });
  if (problems.length) throw new InputError(problems.join('\n'));
  return { file, name: spec.name ?? 'sweep', spec, slurm: (slurm ?? {}) as SlurmSpec, points, hash: pointsHash(points), workers: config.workers };
}

/** The dry run's listing: one line per point and the count. */
export function describePoints(s: PlannedSweep): string {
  const nv = Object.keys(s.spec.variants ?? { main: {} }).length;
  const ns = new Set(s.points.map((p) => p.seed)).size;
  const lines = s.points.map((p) => `${String(p.index).padStart(4)}  ${p.key}${p.stages ? `  (--stages ${p.stages} --from point ${p.from})` : ''}`);
  return `${lines.join('\n')}\n${s.points.length} points: ${nv} variant${nv > 1 ? 's' : ''} × ${s.points.length / nv / ns} value combination${s.points.length / nv / ns > 1 ? 's' : ''} × ${ns} seed${ns > 1 ? 's' : ''}; definition hash ${s.hash}\n`;
}

export async function sweepCommand(a: SweepArgs): Promise<number> {
  const s = planSweep(a.experiment);
  const engine: SweepEngine = a.engine ?? 'local';
  if (a.dryRun) {
    process.stdout.write(a.json ? JSON.stringify({ event: 'sweep-plan', points: s.points.map(({ diff: _d, ...p }) => p), count: s.points.length, hash: s.hash }) + '\n' : describePoints(s));
    return 0;
  }
  const parallel = a.parallel ?? s.spec.parallel ?? (engine === 'local' ? Math.max(1, Math.floor(availableParallelism() / Math.max(1, s.workers))) : 0);
  const exec = a.exec ?? execSlurm;
  if (engine === 'slurm') {
    try {
      await checkSlurm(s.slurm, exec);
    } catch (e) {
      throw new InputError(`${s.file}: ${(e as Error).message}`);
    }
  }
  const found = a.fresh ? undefined : findSweep(path.dirname(s.file), s.hash);
  if (found) {
    const m = found.manifest;
    const pid = m.followerPid;
    if (pid && pid !== process.pid && (m.followerHost ?? hostname()) === hostname() && isProcessAlive(pid)) throw new InputError(`${found.dir}: this sweep is being run by process ${pid}; cancel it (llava-kd sweep-cancel ${found.dir}) or wait for it`);
    const queued = m.points.filter((p) => p.jobId && (p.state === 'pending' || p.state === 'running'));
    if (engine !== 'slurm' && queued.length) throw new InputError(`${found.dir}: ${queued.length} point(s) are still in the Slurm queue (${queued.slice(0, 3).map((p) => p.jobId).join(', ')}…): resume with --engine slurm, or cancel first`);
  }
  const { dir, manifest } = found ?? createSweep(s.file, s.name, s.hash, s.points, engine, parallel);
  Object.assign(manifest, { engine, parallel, state: 'running', followerPid: process.pid, followerHost: hostname() });
  delete manifest.error;
  saveSweep(dir, manifest);

  const emit = (e: SweepEvent | { event: 'log'; level: 'info'; message: string }) => {
    if (a.json) process.stdout.write(JSON.stringify(e) + '\n');
    else if (e.event === 'log') process.stderr.write(`${e.message}\n`);
    else if (e.event === 'sweep-point') process.stderr.write(`point ${e.index} ${e.state}${e.jobId ? ` (${e.jobId})` : ''}: ${e.key}${e.error ? ` — ${e.error.split('\n')[0].slice(0, 200)}` : ''}\n`);
    else if (e.event === 'sweep-started') process.stderr.write(`sweep ${e.id} (${e.engine}): ${e.points} points${e.resumed ? `, resumed: ${e.skipped} already completed` : ''}; folder ${e.sweepDir}\n`);
    else process.stderr.write(`sweep ${e.state}: ${Object.entries(e.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
  };
  const f: Follower = { dir, manifest, emit, log: (message) => emit({ event: 'log', level: 'info', message }), stop: { requested: false }, pollMs: a.pollMs ?? 2000 };
  const onSignal = (sig: string) => {
    if (f.stop.requested) return;
    f.stop.requested = true;
    f.log(`${sig} received: cancelling the sweep (running points checkpoint and stop; resume with the same command)`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const todo = pointsToRun(f);
  emit({ event: 'sweep-started', sweepDir: dir, id: manifest.id, engine, points: manifest.points.length, skipped: manifest.points.length - todo.length, resumed: !!found });
  const node = process.execPath;
  const cli = path.resolve(process.argv[1]);
  try {
    if (engine === 'local') await runLocal(f, todo, { parallel, node, cli, pointArgs: a.pointArgs });
    else await runSlurm(f, todo, { spec: s.slurm, parallel, node, cli, exec });
  } catch (e) {
    manifest.error ??= (e as Error).message;
    finish(f, 'failed');
    throw e;
  }
  const state = finalState(f);
  finish(f, state);
  return state === 'completed' ? 0 : state === 'cancelled' ? 130 : 1;
}

/** `llava-kd sweep-cancel <sweep dir>`: signals the sweep's follower (it stops its points), or, with none alive, scancels its queued Slurm jobs and records them cancelled. */
export async function sweepCancelCommand(sweepDir: string, json: boolean, exec: SlurmExec = execSlurm): Promise<number> {
  const dir = path.resolve(sweepDir);
  let m;
  try {
    m = loadSweep(dir);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const say = (message: string) => process.stdout.write(json ? JSON.stringify({ event: 'log', level: 'info', message }) + '\n' : message + '\n');
  const pid = m.followerPid;
  if (pid && (m.followerHost ?? hostname()) === hostname() && isProcessAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    say(`sent SIGTERM to the sweep's process ${pid}: it cancels the running points (they checkpoint) and records the rest cancelled`);
    return 0;
  }
  const queued = m.points.filter((p) => p.jobId && (p.state === 'pending' || p.state === 'running'));
  if (queued.length) {
    const arrays = [...new Set(queued.map((p) => p.jobId!.split('_')[0]))];
    await exec('scancel', arrays);
    say(`scancel ${arrays.join(' ')}: ${queued.length} point(s)`);
  }
  for (const p of m.points) if (p.state === 'planned' || p.state === 'pending' || p.state === 'running') p.state = 'cancelled';
  m.state = pointCounts(m).completed === m.points.length ? 'completed' : 'cancelled';
  delete m.followerPid;
  saveSweep(dir, m);
  say(`${dir}: ${m.state}`);
  return 0;
}
