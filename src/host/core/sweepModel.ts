/**
 * The host's picture of sweeps (read from `<experiment>/sweeps/<id>/sweep.json` with the shared
 * reader of common/sweepFormat.ts) and pure queries on it: the effective state (a follower that
 * died on this host leaves a `running` manifest behind), the groups of points that differ only in
 * their seed, point counts as words, elapsed times, the run folder and log files of a point, and
 * whether an experiment file has a `sweep` section. No vscode; unit-tested in
 * test/host-sweepModel.test.ts. May import src/common, node built-ins and jsonc-parser.
 */
import { pointRunDir, listSweeps, pointCounts, type PointState, type SweepManifest, type SweepPoint, type SweepRead } from '../../common/sweepFormat';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser/lib/esm/main.js';
import { isProcessAlive } from '../../common/runReader';

export type SweepState = SweepManifest['state'];

/** One sweep folder as the tree and the commands see it. */
export interface SweepSummary {
  /** The sweep folder (`<experiment dir>/sweeps/<id>`). */
  dir: string;
  /** Its folder name (the sweep id). */
  id: string;
  manifest?: SweepManifest;
  /** Why sweep.json could not be read. */
  error?: string;
  /** The manifest's state, `stopped` when it says running but its follower on this host is gone. */
  state: SweepState | 'unreadable';
  /** The manifest says running, and its follower process (on this host) no longer exists. */
  followerGone?: boolean;
}

/** A read sweep folder with its effective state (`host`: this machine's name, for the follower's pid). */
export function summarizeSweep(read: SweepRead, host: string, isAlive: (pid: number) => boolean): SweepSummary {
  const id = path.basename(read.dir);
  if (!read.ok) return { dir: read.dir, id, error: read.error, state: 'unreadable' };
  const m = read.manifest;
  const here = m.followerHost === undefined || m.followerHost === host;
  if (m.state === 'running' && m.followerPid !== undefined && here && !isAlive(m.followerPid)) return { dir: read.dir, id, manifest: m, state: 'stopped', followerGone: true };
  return { dir: read.dir, id, manifest: m, state: m.state };
}

/** The sweeps of an experiment folder, newest first. */
export function sweepsOf(expDir: string, host: string = os.hostname(), isAlive: (pid: number) => boolean = isProcessAlive): SweepSummary[] {
  return listSweeps(expDir).map((r) => summarizeSweep(r, host, isAlive));
}

/** Points of a sweep that share their `group` (they differ only in their seed). */
export interface SweepGroup {
  group: string;
  /** The group key, less `variant=<v>` when the sweep has one variant (its name when nothing else is left). */
  label: string;
  /** Ordered by seed, then index. */
  points: SweepPoint[];
}

/** The groups of a sweep, in the order of their first point. */
export function sweepGroups(m: Pick<SweepManifest, 'points'>): SweepGroup[] {
  const variants = new Set(m.points.map((p) => p.variant));
  const byGroup = new Map<string, SweepPoint[]>();
  for (const p of [...m.points].sort((a, b) => a.index - b.index)) byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), p]);
  return [...byGroup].map(([group, points]) => ({
    group,
    label: variants.size === 1 ? groupLabelWithoutVariant(group, points[0].variant) : group,
    points: points.sort((a, b) => a.seed - b.seed || a.index - b.index),
  }));
}

function groupLabelWithoutVariant(group: string, variant: string): string {
  const rest = group.split(' ').filter((t) => t && t !== `variant=${variant}`).join(' ');
  return rest || variant;
}

/** Point states listed after "n/total completed", in this order (planned points are the rest). */
const PHRASE_STATES: readonly PointState[] = ['running', 'pending', 'failed', 'timeout', 'cancelled'];

/** `5/8 completed · 1 running · 1 failed` of `total` points with these counts. */
export function countsPhrase(counts: Partial<Record<PointState, number>>, total: number): string {
  return [`${counts.completed ?? 0}/${total} completed`, ...PHRASE_STATES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`)].join(' · ');
}

/** countsPhrase of some points. */
export function pointsPhrase(points: readonly SweepPoint[]): string {
  return countsPhrase(pointCounts({ points: [...points] }), points.length);
}

/** The order of counts in sentences: ends first. */
const SENTENCE_STATES: readonly PointState[] = ['completed', 'failed', 'timeout', 'cancelled', 'running', 'pending', 'planned'];

/** `7 completed, 1 failed` (states with no point left out; `no points` when all are). */
export function countsSentence(counts: Partial<Record<PointState, number>>): string {
  const parts = SENTENCE_STATES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'no points';
}

/** Seconds a point has run (to its end, or to `nowMs` while it runs); undefined before it started. */
export function pointElapsedSeconds(p: Pick<SweepPoint, 'startedAt' | 'endedAt'>, nowMs: number): number | undefined {
  const start = p.startedAt ? Date.parse(p.startedAt) : NaN;
  if (!Number.isFinite(start)) return undefined;
  const end = p.endedAt ? Date.parse(p.endedAt) : nowMs;
  return Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : undefined;
}

/** The run folders of a sweep's points that `exists` says are there, in point order. */
export function sweepRunDirs(s: Pick<SweepSummary, 'dir' | 'manifest'>, exists: (dir: string) => boolean): string[] {
  return (s.manifest?.points ?? []).map((p) => pointRunDir(s.dir, p)).filter(exists);
}

/** Short name of a point in messages: `p003`. */
export function pointName(index: number): string {
  return `p${String(index).padStart(3, '0')}`;
}

/** The stdout or stderr file of point `index` as the manifest records it, or why there is none. */
export function pointLogFile(m: Pick<SweepManifest, 'points' | 'name'>, index: number, stream: 'stdout' | 'stderr'): { file: string } | { error: string } {
  const p = m.points.find((x) => x.index === index);
  if (!p) return { error: `sweep ${m.name} has no point ${index}` };
  const file = p[stream];
  if (!file) return { error: `${pointName(index)} of sweep ${m.name} has no ${stream} file yet (it is ${p.state}: the file is recorded when the point starts)` };
  return { file };
}

/** A cancel can act on the sweep: a follower runs it (maybe on another host), or points are still queued or running (Slurm jobs outlive a follower). */
export function canCancel(s: SweepSummary): boolean {
  return s.state === 'running' || !!s.manifest?.points.some((p) => p.state === 'pending' || p.state === 'running');
}

/** True when a kd-experiment.json text has a `sweep` section (an object; a bad one is the validation's to report). */
export function hasSweepSection(text: string): boolean {
  try {
    const v = parseJsonc(text) as Record<string, unknown> | undefined;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && 'sweep' in v;
  } catch {
    return false;
  }
}
