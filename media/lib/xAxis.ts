/**
 * The dashboard's x-axis choices and each metrics row's x on them: step within the stage (what
 * lines up a stage across runs, e.g. a DFT-only run started from a finished run against its
 * parent's DFT), step within the track (the baseline's and the KD student's training side by
 * side), global step of the whole run, and wall time since the run's first logged step.
 * Pure, unit-tested in test/webview-xAxis.test.ts.
 */
import type { MetricsColumns } from '../../src/common/messages';
import { isSingleStage, trackOf, trackStepColumn } from './stageFilter';

export type XAxis = 'stage' | 'track' | 'global' | 'time';

export const X_AXIS_TITLES: Record<XAxis, string> = { stage: 'step in stage', track: 'step in track', global: 'global step', time: 'minutes since the first logged step' };

/**
 * The axis the charts use: the user's choice, except that "step in stage" needs one stage
 * chosen (several stages on it would overlap); the default (`auto`) is step in stage with one
 * stage chosen, step in track with one track, else the global step.
 */
export function effectiveAxis(choice: XAxis | 'auto', filter: string): XAxis {
  if (choice === 'auto') return isSingleStage(filter) ? 'stage' : filter.startsWith('track:') ? 'track' : 'global';
  if (choice === 'stage' && !isSingleStage(filter)) return 'global';
  return choice;
}

/** x of every metrics row on `axis`. */
export function xColumn(c: Pick<MetricsColumns, 'stages' | 'stage' | 'globalStep' | 'step' | 'time'>, axis: XAxis): number[] {
  if (axis === 'stage') return c.step;
  if (axis === 'track') return trackStepColumn(c);
  if (axis === 'global') return c.globalStep;
  const t0 = c.time.find((t) => t > 0) ?? 0;
  return c.time.map((t) => (t > 0 ? (t - t0) / 60000 : 0));
}

/** Global step at which each track of the columns began (see trackStepColumn). */
export function trackStarts(c: Pick<MetricsColumns, 'stages' | 'stage' | 'globalStep' | 'step'>): Map<string, number> {
  const x = trackStepColumn(c);
  const out = new Map<string, number>();
  for (let i = 0; i < c.stage.length; i++) out.set(trackOf(c.stages[c.stage[i]]), c.globalStep[i] - x[i]);
  return out;
}

/**
 * x of an eval line on `axis` (wall time from its ISO time, relative to the run's first metrics
 * row; step in track from the run's track starts, 0 for a track without metrics).
 */
export function evalX(e: { stage: string; step: number; globalStep: number; time: string }, axis: XAxis, firstMetricsTime: number, tracks: Map<string, number> = new Map()): number {
  if (axis === 'stage') return e.step;
  if (axis === 'track') return e.globalStep - (tracks.get(trackOf(e.stage)) ?? e.globalStep - e.step);
  if (axis === 'global') return e.globalStep;
  const t = Date.parse(e.time);
  return Number.isFinite(t) && firstMetricsTime > 0 ? (t - firstMetricsTime) / 60000 : 0;
}
