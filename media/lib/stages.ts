/**
 * Stage boundaries of a run's metrics for the dashboard's vertical lines: a metrics row of stage
 * S with in-stage step s at global step g means S began after global step g − s.
 * Pure, unit-tested in test/webview-stages.test.ts.
 */
import type { MetricsColumns } from '../../src/common/messages';

export interface StageStart {
  stage: string;
  /** Global step after which the stage began (0 for the first stage). */
  x: number;
}

/** Start of every stage seen in the columns, in order of first appearance. */
export function stageStarts(c: Pick<MetricsColumns, 'stages' | 'stage' | 'globalStep' | 'step'>): StageStart[] {
  const out: StageStart[] = [];
  let prev = -1;
  for (let i = 0; i < c.stage.length; i++) {
    const si = c.stage[i];
    if (si === prev) continue;
    prev = si;
    out.push({ stage: c.stages[si] ?? `stage ${si}`, x: Math.max(0, c.globalStep[i] - c.step[i]) });
  }
  return out;
}

/** Points `{x, y}` of a column pair, dropping null / non-finite ys (for parsing:false charts). */
export function toPoints(xs: readonly number[], ys: readonly (number | null)[], keep?: (i: number) => boolean): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) continue;
    if (keep && !keep(i)) continue;
    out.push({ x: xs[i], y });
  }
  return out;
}

/** Sorts points by x when they are not already (stable), as the decimation plugin requires. */
export function ensureSorted(pts: { x: number; y: number }[]): { x: number; y: number }[] {
  for (let i = 1; i < pts.length; i++) {
    if (pts[i].x < pts[i - 1].x) return [...pts].sort((a, b) => a.x - b.x);
  }
  return pts;
}
