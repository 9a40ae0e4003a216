/**
 * Statistics of the bench tables and the dashboard's run table: mean, sample standard deviation, 95 % confidence intervals
 * (Student t), seed-paired differences, and a seed-paired bootstrap interval for the fraction of
 * the teacher-baseline gap closed. Pure functions, unit-tested against hand-computed values.
 */
import { mulberry32 } from './random';

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tQuantile975(df: number): number {
  if (df < 1) return NaN;
  return df <= 30 ? T975[df - 1] : 1.96;
}

export const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;

/** Sample standard deviation (n − 1); 0 for a single value. */
export function sampleStd(a: number[]): number {
  if (a.length < 2) return 0;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1));
}

export interface Interval {
  n: number;
  mean: number;
  std: number;
  /** 95 % confidence interval of the mean (NaN bounds for n < 2). */
  lo: number;
  hi: number;
}

/** Mean with its 95 % t interval. */
export function ci95(a: number[]): Interval {
  const n = a.length;
  const m = mean(a);
  const s = sampleStd(a);
  const h = n > 1 ? tQuantile975(n - 1) * s / Math.sqrt(n) : NaN;
  return { n, mean: m, std: s, lo: m - h, hi: m + h };
}

/**
 * Seed-paired difference a − b: the mean and 95 % t interval of the per-seed differences, over
 * the seeds both have.
 */
export function pairedDiff(a: Map<number, number>, b: Map<number, number>): Interval {
  const d = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y).map((s) => a.get(s)! - b.get(s)!);
  return ci95(d);
}

/**
 * Fraction of the teacher − baseline gap that the student closes, (mean(kd) − mean(base)) /
 * (mean(teacher) − mean(base)), with a 95 % percentile interval from resampling seeds (the same
 * resampled seeds for all three, so the pairing is kept). Seeded: the same inputs give the same interval.
 */
export function gapClosed(teacher: Map<number, number>, base: Map<number, number>, kd: Map<number, number>, resamples = 2000): { value: number; lo: number; hi: number; n: number } {
  const seeds = [...kd.keys()].filter((s) => teacher.has(s) && base.has(s)).sort((x, y) => x - y);
  const ratio = (ss: number[]): number => {
    const t = mean(ss.map((s) => teacher.get(s)!));
    const b = mean(ss.map((s) => base.get(s)!));
    const k = mean(ss.map((s) => kd.get(s)!));
    return (k - b) / (t - b);
  };
  const value = ratio(seeds);
  if (seeds.length < 2) return { value, lo: NaN, hi: NaN, n: seeds.length };
  const r = mulberry32(12345);
  const vals: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const v = ratio(seeds.map(() => seeds[Math.floor(r() * seeds.length)]));
    if (Number.isFinite(v)) vals.push(v);
  }
  vals.sort((x, y) => x - y);
  const q = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.round(p * (vals.length - 1))))];
  return { value, lo: q(0.025), hi: q(0.975), n: seeds.length };
}

/**
 * Difference of two independent means a − b with Welch's 95 % interval (unequal variances,
 * Welch-Satterthwaite degrees of freedom, rounded down); NaN bounds unless both have n ≥ 2.
 * `n` is the smaller sample size.
 */
export function welchDiff(a: number[], b: number[]): Interval {
  const d = mean(a) - mean(b);
  const n = Math.min(a.length, b.length);
  if (a.length < 2 || b.length < 2) return { n, mean: d, std: NaN, lo: NaN, hi: NaN };
  const va = sampleStd(a) ** 2 / a.length;
  const vb = sampleStd(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { n, mean: d, std: 0, lo: d, hi: d };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const h = tQuantile975(Math.max(1, Math.floor(df))) * se;
  return { n, mean: d, std: se, lo: d - h, hi: d + h };
}
