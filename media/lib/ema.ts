/**
 * Smoothing of the dashboard's curves: a time-weighted, de-biased exponential moving average.
 * With evenly spaced steps it is exactly TensorBoard's smoothing (s_n = w·s_{n-1} + (1-w)·y_n,
 * divided by 1 - w^n); with uneven spacing the decay of a point is w^(Δx / typical Δx), so a
 * gap in logging does not make the curve lag. Pure, unit-tested in test/webview-ema.test.ts.
 */

/** Median of the positive gaps between consecutive xs (1 when there are none). */
export function typicalGap(xs: ArrayLike<number>): number {
  const gaps: number[] = [];
  for (let i = 1; i < xs.length; i++) {
    const d = xs[i] - xs[i - 1];
    if (d > 0 && Number.isFinite(d)) gaps.push(d);
  }
  if (!gaps.length) return 1;
  gaps.sort((a, b) => a - b);
  const m = gaps.length >> 1;
  return gaps.length % 2 ? gaps[m] : (gaps[m - 1] + gaps[m]) / 2;
}

/**
 * Smoothed copy of `ys` (same length). `weight` in [0, 1): 0 returns the raw values.
 * Non-finite ys are passed through and do not disturb the average.
 */
export function smoothEma(xs: ArrayLike<number>, ys: ArrayLike<number>, weight: number): number[] {
  const n = ys.length;
  const out = new Array<number>(n);
  const w = Math.min(Math.max(weight, 0), 0.999999);
  if (w === 0) {
    for (let i = 0; i < n; i++) out[i] = ys[i];
    return out;
  }
  const gap = typicalGap(xs);
  let acc = 0;
  /** Product of the decays so far; the sum of the weights given to the points is 1 - prod. */
  let prod = 1;
  let prevX: number | undefined;
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    const dx = prevX === undefined ? gap : xs[i] - prevX;
    const wi = dx > 0 ? Math.pow(w, dx / gap) : w;
    acc = acc * wi + (1 - wi) * y;
    prod *= wi;
    prevX = xs[i];
    out[i] = acc / (1 - prod);
  }
  return out;
}

/**
 * smoothEma restarted at every stage boundary: a stage's curve never carries the average of
 * the stage before it (a new model, a new loss). `starts` are the x after which a stage begins
 * (a point belongs to the new stage when its x is greater); xs must be sorted.
 */
export function smoothEmaByStage(xs: ArrayLike<number>, ys: ArrayLike<number>, weight: number, starts: readonly number[]): number[] {
  const cuts = [...starts].sort((a, b) => a - b);
  const out: number[] = [];
  let begin = 0;
  let c = 0;
  for (let i = 0; i <= xs.length; i++) {
    while (c < cuts.length && i < xs.length && cuts[c] < xs[begin]) c++;
    const boundary = i === xs.length || (c < cuts.length && xs[i] > cuts[c] && i > begin);
    if (!boundary) continue;
    const seg = (a: ArrayLike<number>) => Array.prototype.slice.call(a, begin, i) as number[];
    out.push(...smoothEma(seg(xs), seg(ys), weight));
    begin = i;
    c++;
  }
  return out;
}
