/**
 * Data shaping of the dashboard's line series: a metrics column split into one series per
 * track (teacher, baseline, kd: three CE curves, not one line joined across them), the style of
 * each series (colour per term, per track or per run; dash per track) and the stable colour of
 * each run. Pure (no DOM, no chart.js), unit-tested in test/webview-series.test.ts.
 */
import type { MetricsColumns } from '../../src/common/messages';
import { stageShown, trackOf } from './stageFilter';

export type Pt = { x: number; y: number };

export interface TrackSeries {
  track: string;
  pts: Pt[];
}

/** Track order in legends (the teacher first, the distilled student last). */
const TRACK_ORDER = ['vision', 'teacher', 'student', 'baseline', 'kd'];

/**
 * One series per track of the rows the filter shows: `xs[i], ys[i]` of each row whose stage
 * passes `filter` and whose y is a finite number, grouped by its stage's track.
 */
export function splitByTrack(c: Pick<MetricsColumns, 'stages' | 'stage'>, xs: readonly number[], ys: readonly (number | null)[], filter: string): TrackSeries[] {
  const by = new Map<string, Pt[]>();
  for (let i = 0; i < c.stage.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) continue;
    const s = c.stages[c.stage[i]];
    if (!stageShown(filter, s)) continue;
    const t = trackOf(s);
    if (!by.has(t)) by.set(t, []);
    by.get(t)!.push({ x: xs[i], y });
  }
  const rank = (t: string): number => (TRACK_ORDER.indexOf(t) < 0 ? TRACK_ORDER.length : TRACK_ORDER.indexOf(t));
  return [...by.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([track, pts]) => ({ track, pts }));
}

/** Dash pattern per track: the distilled student solid, the baseline dashed, the teacher dotted. */
export const TRACK_DASH: Record<string, number[]> = { kd: [], baseline: [7, 3], teacher: [2, 2], student: [8, 3, 2, 3], vision: [8, 3, 2, 3] };
export const trackDash = (track: string): number[] => TRACK_DASH[track] ?? [4, 4];

/** Index into the theme's series colours per track (single-run charts): kd blue, baseline yellow, teacher green. */
export const TRACK_COLOR: Record<string, number> = { kd: 0, baseline: 3, teacher: 2, student: 4, vision: 5 };
export const trackColor = (track: string): number => TRACK_COLOR[track] ?? 1;

/**
 * The colour index of a run: the position of its key in the order runs were added, so a run
 * keeps its colour in every chart and table while the set of shown runs stays the same, and an
 * earlier run's colour does not change when runs are added after it.
 */
export function runColorIndex(order: readonly string[], key: string, palette: number): number {
  const i = order.indexOf(key);
  return (i < 0 ? order.length : i) % palette;
}

/** The label of a series: the base name, its track when the run shows several, the run id when several runs are shown. */
export function seriesLabel(base: string, track: string, tracksShown: number, runId: string | null): string {
  return [base, tracksShown > 1 ? track : null, runId].filter(Boolean).join(' · ');
}
