/**
 * The dashboard's x-axis choices and each metrics row's x on them: step within the stage (what
 * lines up a stage across runs, e.g. a DFT-only run started from a finished run against its
 * parent's DFT), global step of the whole run, and wall time since the run's first logged step.
 * Pure, unit-tested in test/host-xAxis.test.ts.
 */
import type { MetricsColumns } from '../../src/common/messages';

export type XAxis = 'stage' | 'global' | 'time';

export const X_AXIS_TITLES: Record<XAxis, string> = { stage: 'step in stage', global: 'global step', time: 'minutes since the first logged step' };

/**
 * The axis the charts use: the user's choice, except that "step in stage" needs one stage
 * chosen (all stages on it would overlap), and with a stage chosen the default (`auto`) is it.
 */
export function effectiveAxis(choice: XAxis | 'auto', stage: string): XAxis {
  if (choice === 'auto') return stage === 'all' ? 'global' : 'stage';
  if (choice === 'stage' && stage === 'all') return 'global';
  return choice;
}

/** x of every metrics row on `axis`. */
export function xColumn(c: Pick<MetricsColumns, 'globalStep' | 'step' | 'time'>, axis: XAxis): number[] {
  if (axis === 'stage') return c.step;
  if (axis === 'global') return c.globalStep;
  const t0 = c.time.find((t) => t > 0) ?? 0;
  return c.time.map((t) => (t > 0 ? (t - t0) / 60000 : 0));
}

/** x of an eval line on `axis` (wall time from its ISO time, relative to the run's first metrics row). */
export function evalX(e: { step: number; globalStep: number; time: string }, axis: XAxis, firstMetricsTime: number): number {
  if (axis === 'stage') return e.step;
  if (axis === 'global') return e.globalStep;
  const t = Date.parse(e.time);
  return Number.isFinite(t) && firstMetricsTime > 0 ? (t - firstMetricsTime) / 60000 : 0;
}
