/**
 * The dashboard's Stage filter: which stages of a run the charts show. Values: `distill` (every
 * stage of the teacher, baseline and kd tracks: what distillation is about, without the vision
 * and LM pre-training that otherwise take a third of the axis), `all`, `track:<name>` (one
 * track's stages) or one stage id (`kd/dft`). The default is `distill` when a run has such
 * stages. Also: each stage's track, and the step since its track began (the "step in track"
 * x axis, which lines up the baseline's and the KD student's training side by side).
 * Pure, unit-tested in test/webview-stageFilter.test.ts.
 */
import type { MetricsColumns } from '../../src/common/messages';

export const DISTILL_FILTER = 'distill';
export const ALL_FILTER = 'all';

/** The track of a stage id (`kd/dft` -> `kd`). */
export const trackOf = (stageId: string): string => stageId.slice(0, stageId.indexOf('/') >= 0 ? stageId.indexOf('/') : stageId.length);

/** Pre-training stages (vision encoder, LM pre-training): not part of the distillation view. */
export const isPretraining = (stageId: string): boolean => stageId === 'vision/vision' || stageId.endsWith('/lm') || trackOf(stageId) === 'vision';

/** Whether the stage id `s` is shown under filter `f`. */
export function stageShown(f: string, s: string): boolean {
  if (f === ALL_FILTER) return true;
  if (f === DISTILL_FILTER) return !isPretraining(s);
  if (f.startsWith('track:')) return trackOf(s) === f.slice(6);
  return s === f;
}

/** Whether the filter picks exactly one stage (then "step in stage" is the natural x axis). */
export const isSingleStage = (f: string): boolean => f !== ALL_FILTER && f !== DISTILL_FILTER && !f.startsWith('track:');

export interface FilterOption {
  value: string;
  label: string;
}

/** The Stage select's options for the stage ids the shown runs have (in order of appearance). */
export function filterOptions(stageIds: readonly string[]): FilterOption[] {
  const out: FilterOption[] = [];
  const distill = stageIds.filter((s) => !isPretraining(s));
  if (distill.length && distill.length < stageIds.length) out.push({ value: DISTILL_FILTER, label: 'Distillation stages (no pre-training)' });
  out.push({ value: ALL_FILTER, label: 'All stages' });
  const tracks = [...new Set(distill.map(trackOf))];
  if (tracks.length > 1) for (const t of tracks) out.push({ value: `track:${t}`, label: `Track ${t} (all its stages)` });
  for (const s of stageIds) out.push({ value: s, label: s });
  return out;
}

/** The filter to use: the saved one when the runs still offer it, else `distill` when offered, else `all`. */
export function defaultFilter(options: readonly FilterOption[], saved: string | undefined): string {
  if (saved && options.some((o) => o.value === saved)) return saved;
  return options.some((o) => o.value === DISTILL_FILTER) ? DISTILL_FILTER : ALL_FILTER;
}

/**
 * Steps since the row's track began: the global step minus the global step at which the
 * track's first stage started (a stage's row with in-stage step s at global step g began at g − s).
 */
export function trackStepColumn(c: Pick<MetricsColumns, 'stages' | 'stage' | 'globalStep' | 'step'>): number[] {
  const start = new Map<string, number>();
  for (let i = 0; i < c.stage.length; i++) {
    const t = trackOf(c.stages[c.stage[i]] ?? '');
    const s = Math.max(0, c.globalStep[i] - c.step[i]);
    if (!start.has(t) || s < start.get(t)!) start.set(t, s);
  }
  return c.stage.map((si, i) => c.globalStep[i] - (start.get(trackOf(c.stages[si] ?? '')) ?? 0));
}
