/**
 * Writes sweep folders (src/common/sweepFormat.ts): creates one for a planned sweep, or finds the
 * earlier one of the same definition (same points hash) to resume; saves the manifest atomically;
 * reads a point's run folder state. The sweep's one writing process is its follower.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../common/atomic';
import { readStatus, effectiveState } from '../../common/runReader';
import { listSweeps, pointRunId, readSweep, SWEEP_FILE, SWEEPS_DIR, type PointState, type SweepEngine, type SweepManifest, type SweepPoint } from '../../common/sweepFormat';
import type { PlannedPoint } from './expand';

const pad = (n: number): string => String(n).padStart(2, '0');
function stamp(now: Date): string {
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
}

/** The newest sweep of this experiment folder with the same points hash, if any (what `llava-kd sweep` resumes). */
export function findSweep(experimentDir: string, hash: string): { dir: string; manifest: SweepManifest } | undefined {
  for (const r of listSweeps(experimentDir)) if (r.ok && r.manifest.hash === hash) return { dir: r.dir, manifest: r.manifest };
  return undefined;
}

/** Creates `<experiment dir>/sweeps/<stamp>-<name>/` with its manifest (every point `planned`). */
export function createSweep(experimentFile: string, name: string, hash: string, planned: PlannedPoint[], engine: SweepEngine, parallel: number, now = new Date()): { dir: string; manifest: SweepManifest } {
  const root = path.join(path.dirname(experimentFile), SWEEPS_DIR);
  fs.mkdirSync(root, { recursive: true });
  for (let i = 0; i < 100; i++) {
    const id = `${stamp(now)}-${name}${i ? `-${i}` : ''}`;
    const dir = path.join(root, id);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    const t = now.toISOString();
    const points: SweepPoint[] = planned.map((p) => ({ ...p, runId: pointRunId(id, p.index), state: 'planned', attempts: 0 }));
    const manifest: SweepManifest = { version: 1, id, name, hash, experimentFile, createdAt: t, updatedAt: t, engine, parallel, state: 'running', points };
    saveSweep(dir, manifest);
    return { dir, manifest };
  }
  throw new Error(`cannot create a sweep folder under ${root}: 100 names taken`);
}

/** Replaces sweep.json (atomic), stamping updatedAt. */
export function saveSweep(dir: string, m: SweepManifest): void {
  m.updatedAt = new Date().toISOString();
  writeFileAtomic(path.join(dir, SWEEP_FILE), JSON.stringify(m, null, 2) + '\n');
}

/** Reads a sweep folder's manifest, or throws naming the file and the defect. */
export function loadSweep(dir: string): SweepManifest {
  const r = readSweep(path.resolve(dir));
  if (!r.ok) throw new Error(`${r.error} (expected a sweep folder: <experiment dir>/sweeps/<id>/ holding sweep.json)`);
  return r.manifest;
}

/**
 * What a point's run folder says: absent (never started), or its state (a `running` run whose
 * pid is dead on this host reads `failed`, as everywhere), with its error.
 */
export function runFolderState(runDir: string): { state: 'absent' | 'running' | 'completed' | 'failed' | 'stopped'; error?: string; host?: string } {
  if (!fs.existsSync(path.join(runDir, 'status.json'))) return { state: 'absent' };
  const r = readStatus(runDir);
  if (!r.ok) return { state: 'failed', error: r.message };
  // effectiveState takes a `running` run on another host (a Slurm node) at its word.
  const eff = effectiveState(r.status);
  return { state: eff.state, error: eff.error, host: r.status.job?.host };
}

/** The point state a finished attempt leaves, from its run folder (stopped = cancelled by a signal, or a Slurm time limit). */
export function endedPointState(runDir: string, stoppedAs: PointState = 'cancelled'): { state: PointState; error?: string } {
  const r = runFolderState(runDir);
  if (r.state === 'completed') return { state: 'completed' };
  if (r.state === 'stopped') return { state: stoppedAs };
  if (r.state === 'absent') return { state: 'failed', error: 'the point ended before its run folder was created (see its stderr)' };
  return { state: 'failed', error: r.error };
}
