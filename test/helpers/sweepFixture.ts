// Hand-made sweep folders for the host's sweep tests: an experiment folder in a temp dir with a
// sweep.json manifest (as `llava-kd sweep` writes it) and run folders (status.json) for the
// points that started, plus one ordinary run. Uses only src/common types and node fs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunStatus } from '../../src/common/runFormat';
import { pointRunId, type PointState, type SweepManifest, type SweepPoint } from '../../src/common/sweepFormat';

export const SWEEP_ID = '20250301-120000-grid-T';
export const PLAIN_RUN = '20250228-090000-abcd';

export function tempExperiment(): { dir: string; file: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-sweep-'));
  const file = path.join(dir, 'kd-experiment.json');
  fs.writeFileSync(file, JSON.stringify({ preset: 'tiny', sweep: { name: 'grid-T', grid: { 'distill.temperature': [1, 2] }, seeds: 2 } }));
  return { dir, file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A point of the 2 temperatures × 2 seeds grid (index = 2 × temperature index + seed). */
export function point(sweepDir: string, index: number, state: PointState, over: Partial<SweepPoint> = {}): SweepPoint {
  const t = index < 2 ? 1 : 2;
  const seed = index % 2;
  const name = `p${String(index).padStart(3, '0')}`;
  const started = state !== 'planned' && state !== 'pending';
  return {
    index,
    runId: pointRunId(SWEEP_ID, index),
    key: `variant=main distill.temperature=${t} seed=${seed}`,
    group: `variant=main distill.temperature=${t}`,
    variant: 'main',
    values: { 'distill.temperature': t },
    seed,
    diff: { preset: 'tiny', distill: { temperature: t }, seed },
    state,
    attempts: started ? 1 : 0,
    ...(started ? { stdout: path.join(sweepDir, 'logs', `${name}.out`), stderr: path.join(sweepDir, 'logs', `${name}.err`), startedAt: '2025-03-01T12:00:00.000Z' } : {}),
    ...(started && state !== 'running' ? { endedAt: '2025-03-01T12:01:05.000Z' } : {}),
    ...over,
  };
}

export function manifest(dir: string, points: SweepPoint[], over: Partial<SweepManifest> = {}): SweepManifest {
  return {
    version: 1, id: SWEEP_ID, name: 'grid-T', hash: 'h1', experimentFile: path.join(dir, 'kd-experiment.json'),
    createdAt: '2025-03-01T12:00:00.000Z', updatedAt: '2025-03-01T12:01:05.000Z', engine: 'local', parallel: 2, state: 'running', points, ...over,
  };
}

export function writeManifest(expDir: string, m: SweepManifest): string {
  const dir = path.join(expDir, 'sweeps', m.id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify(m, null, 2));
  return dir;
}

export function writeRun(expDir: string, runId: string, over: Partial<RunStatus>): string {
  const dir = path.join(expDir, 'runs', runId);
  fs.mkdirSync(dir, { recursive: true });
  const st: RunStatus = {
    runId, experiment: path.join(expDir, 'kd-experiment.json'), state: 'completed', stages: ['kd/dft'], completedStages: ['kd/dft'], stage: 'kd/dft',
    step: 10, totalSteps: 10, globalStep: 10, globalTotalSteps: 10, pid: 999_999_999, backend: 'cpu', startedAt: '2025-03-01T12:00:01.000Z', updatedAt: '2025-03-01T12:01:04.000Z', ...over,
  };
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify(st));
  return dir;
}

/**
 * The standard fixture: sweep grid-T (local) with p000/p001 completed, p002 running (its trainer
 * is this test process), p003 planned; the run folders of p000–p002; and one ordinary run.
 */
export function standardSweep(expDir: string, over: Partial<SweepManifest> = {}): string {
  const sweepDir = path.join(expDir, 'sweeps', SWEEP_ID);
  const points = [point(sweepDir, 0, 'completed'), point(sweepDir, 1, 'completed'), point(sweepDir, 2, 'running'), point(sweepDir, 3, 'planned')];
  writeManifest(expDir, manifest(expDir, points, { followerPid: process.pid, followerHost: os.hostname(), ...over }));
  writeRun(expDir, points[0].runId, { accuracy: { kd: 0.71 } });
  writeRun(expDir, points[1].runId, { accuracy: { kd: 0.69 } });
  writeRun(expDir, points[2].runId, { state: 'running', completedStages: [], step: 3, globalStep: 3, pid: process.pid, endedAt: undefined });
  writeRun(expDir, PLAIN_RUN, { startedAt: '2025-02-28T09:00:00.000Z' });
  return sweepDir;
}
