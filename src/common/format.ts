/**
 * Small text formatters shared by the extension host and the webviews: durations (ETA),
 * percentages, byte sizes and the status-bar text of a training run. Pure (no vscode), unit-tested
 * in test/host-format.test.ts.
 */
import type { RunProgress } from './messages';

/** `80` -> `1m 20s`, `45` -> `45s`, `3725` -> `1h 2m`, `90061` -> `1d 1h`. Negative/NaN -> `?`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** `ETA 1m 20s`, or `ETA ~1m 20s (rough)` while the run's estimate scales a kind of step not yet timed (status.json etaRough). */
export function formatEta(seconds: number, rough?: boolean): string {
  return rough ? `ETA ~${formatDuration(seconds)} (rough)` : `ETA ${formatDuration(seconds)}`;
}

/** `done/total` as a whole percentage, clamped to 0..100; 0 when the total is unknown. */
export function percent(done: number, total: number): number {
  if (!(total > 0) || !Number.isFinite(done)) return 0;
  return Math.max(0, Math.min(100, Math.floor((100 * done) / total)));
}

/** Accuracy 0..1 as `71.3%`. */
export function formatAccuracy(a: number): string {
  return `${(a * 100).toFixed(1)}%`;
}

/** `1536` -> `1.5 KB`, `3145728` -> `3.0 MB`. */
export function formatBytes(n: number): string {
  if (!(n >= 0)) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** What the status-bar text needs of a training's progress. */
export type TrainingProgress = Pick<RunProgress, 'stage' | 'step' | 'totalSteps' | 'etaSeconds' | 'etaRough'>;

/** Status-bar text of one training run: `$(sync~spin) kd/dft 120/400 · ETA 1m 20s (+1 running, 2 queued)`. */
export function statusBarText(p: TrainingProgress, others = 0, queued = 0): string {
  let t = `$(sync~spin) ${p.stage ?? 'starting'}`;
  if (p.stage && p.totalSteps > 0) t += ` ${p.step}/${p.totalSteps}`;
  if (p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds)) t += ` · ${formatEta(p.etaSeconds, p.etaRough)}`;
  const more = [others > 0 ? `+${others} running` : '', queued > 0 ? `${queued} queued` : ''].filter(Boolean);
  if (more.length) t += ` (${more.join(', ')})`;
  return t;
}

/** Accuracy record `{kd: 0.71, teacher: 0.83}` as `kd 71.0% · teacher 83.0%` (kd first). */
export function formatAccuracyRecord(acc: Record<string, number> | undefined): string {
  if (!acc) return '';
  const order = ['kd', 'baseline', 'teacher'];
  const keys = Object.keys(acc).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return keys.filter((k) => Number.isFinite(acc[k])).map((k) => `${k} ${formatAccuracy(acc[k])}`).join(' · ');
}
