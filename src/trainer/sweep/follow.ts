/**
 * What both sweep engines share: the follower's context (manifest, events, stop flag), setting a
 * point's state (saved to sweep.json and emitted), which points still have to run on a resume,
 * and the sweep's final state.
 */
import { pointRunDir, FINISHED_POINT_STATES, pointCounts, type PointState, type SweepManifest, type SweepPoint } from '../../common/sweepFormat';
import { runFolderState, saveSweep } from './manifest';

/** One line of `llava-kd sweep --json` from the follower (the extension reads them: one definition, in src/common). */
export type { SweepFollowEvent as SweepEvent } from '../../common/sweepEvents';
import type { SweepFollowEvent as SweepEvent } from '../../common/sweepEvents';

export interface Follower {
  dir: string;
  manifest: SweepManifest;
  emit: (e: SweepEvent) => void;
  log: (m: string) => void;
  stop: { requested: boolean };
  /** Milliseconds between checks of the children / the queue. */
  pollMs: number;
  /** Changes not yet saved to sweep.json (flush). */
  dirty?: boolean;
}

/**
 * Sets a point's state (and more fields) and emits the change when the state changed; sweep.json
 * is saved by the next flush (once per poll: a 1000-point sweep changes many points at once).
 */
export function setPoint(f: Follower, p: SweepPoint, state: PointState, more: Partial<SweepPoint> = {}): void {
  const changed = p.state !== state || (more.jobId !== undefined && more.jobId !== p.jobId);
  Object.assign(p, more, { state });
  if (state === 'running' && !p.startedAt) p.startedAt = new Date().toISOString();
  if (FINISHED_POINT_STATES.includes(state)) p.endedAt = new Date().toISOString();
  if (state === 'completed') delete p.error;
  f.dirty = true;
  if (changed) f.emit({ event: 'sweep-point', index: p.index, key: p.key, state, runDir: pointRunDir(f.dir, p), ...(p.jobId ? { jobId: p.jobId } : {}), ...(p.error ? { error: p.error } : {}) });
}

/**
 * On a start or resume: points whose run folder is complete are `completed` (skipped); the others
 * are to run (failed, cancelled, timed-out and never-started points alike). Returns those.
 */
export function pointsToRun(f: Follower): SweepPoint[] {
  const todo: SweepPoint[] = [];
  for (const p of f.manifest.points) {
    if (runFolderState(pointRunDir(f.dir, p)).state === 'completed') {
      if (p.state !== 'completed') setPoint(f, p, 'completed');
    } else todo.push(p);
  }
  flush(f);
  return todo;
}

/** Saves sweep.json when a point changed since the last save. */
export function flush(f: Follower): void {
  if (!f.dirty) return;
  f.dirty = false;
  saveSweep(f.dir, f.manifest);
}

/** The sweep's end: completed when every point completed, cancelled when a stop was asked, else failed. */
export function finalState(f: Follower): SweepManifest['state'] {
  const c = pointCounts(f.manifest);
  if (c.completed === f.manifest.points.length) return 'completed';
  return f.stop.requested ? 'cancelled' : 'failed';
}

/** Records the sweep's end in sweep.json and emits it. */
export function finish(f: Follower, state: SweepManifest['state']): void {
  f.manifest.state = state;
  delete f.manifest.followerPid;
  delete f.manifest.followerHost;
  f.dirty = false;
  saveSweep(f.dir, f.manifest);
  f.emit({ event: 'sweep-finished', sweepDir: f.dir, state, counts: pointCounts(f.manifest) });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
