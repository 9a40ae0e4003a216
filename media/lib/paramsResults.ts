/**
 * Parameters vs results (for sweeps): which config keys can be an x axis (the differing ones
 * whose values are all numbers or booleans), the metrics a point can show, and the points, one
 * per run: x = the run's value of the key, y = its result. Pure, unit-tested in
 * test/webview-paramsResults.test.ts.
 */
import { finalEvals, isControl, type ConfigValue, type TableRun } from './runTable';

export type ResultMetric = 'testKd' | 'valKd' | 'kdMinusBaseline' | 'gapClosed';

export const RESULT_METRICS: { value: ResultMetric; label: string }[] = [
  { value: 'testKd', label: 'test accuracy (kd)' },
  { value: 'valKd', label: 'val accuracy (kd)' },
  { value: 'kdMinusBaseline', label: 'KD − baseline (test, points)' },
  { value: 'gapClosed', label: 'teacher gap closed' },
];

const asNumber = (v: ConfigValue | undefined): number | undefined => (typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined);

/** Differing keys whose value is a number (or boolean) in every run. */
export function numericKeys(runs: readonly TableRun[], differing: readonly string[]): string[] {
  return differing.filter((k) => runs.every((r) => asNumber(r.config[k]) !== undefined));
}

/** A run's result on `metric`, or undefined when it lacks the evals for it. */
export function resultOf(r: TableRun, metric: ResultMetric): number | undefined {
  const test = finalEvals(r.evals, 'test');
  const kd = test.get('kd')?.accuracy;
  switch (metric) {
    case 'testKd':
      return kd;
    case 'valKd':
      return finalEvals(r.evals, 'val').get('kd')?.accuracy;
    case 'kdMinusBaseline': {
      const b = test.get('baseline')?.accuracy;
      return kd !== undefined && b !== undefined ? kd - b : undefined;
    }
    case 'gapClosed': {
      const b = test.get('baseline')?.accuracy;
      const t = test.get('teacher')?.accuracy;
      return kd !== undefined && b !== undefined && t !== undefined && t > b ? (kd - b) / (t - b) : undefined;
    }
  }
}

export interface ResultPoint {
  key: string;
  label: string;
  x: number;
  y: number;
  control: boolean;
}

/** One point per run that has both the key's value and the metric. */
export function resultPoints(runs: readonly TableRun[], key: string, metric: ResultMetric): ResultPoint[] {
  const out: ResultPoint[] = [];
  for (const r of runs) {
    const x = asNumber(r.config[key]);
    const y = resultOf(r, metric);
    if (x === undefined || y === undefined || !Number.isFinite(y)) continue;
    out.push({ key: r.key, label: r.label, x, y, control: isControl(r.config) });
  }
  return out;
}
