/**
 * Turns metrics.jsonl lines into the column form the dashboard receives (MetricsColumns), so a
 * long run (100k lines) travels as a few flat number arrays instead of 100k objects.
 * Pure (no vscode), unit-tested in test/host-metricsColumns.test.ts.
 */
import type { LossTerm, MetricsLine } from './runFormat';
import type { MetricsColumns } from './messages';
import { LOSS_TERMS } from './lossTerms';

const termRecord = (): Record<LossTerm, (number | null)[]> => ({ ce: [], res: [], vis: [], rel: [], task: [] });

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Empty columns with no stages. */
export function emptyColumns(): MetricsColumns {
  return { stages: [], stage: [], globalStep: [], step: [], time: [], lr: [], samplesPerSec: [], rssMb: [], tensorMb: [], total: [], raw: termRecord(), weighted: termRecord(), weights: {} };
}

/**
 * Columns of `rows`. `knownStages` is the stage table the receiver already holds (for appends):
 * indices continue it, and new stages are appended after it, so `result.stages` is always the
 * complete table. Lines without a numeric globalStep are skipped.
 */
export function metricsToColumns(rows: readonly MetricsLine[], knownStages: readonly string[] = []): MetricsColumns {
  const c = emptyColumns();
  c.stages = [...knownStages];
  for (const r of rows) {
    const g = num(r?.globalStep);
    if (g === null) continue;
    let si = c.stages.indexOf(r.stage);
    if (si < 0) {
      si = c.stages.length;
      c.stages.push(r.stage);
    }
    c.stage.push(si);
    c.globalStep.push(g);
    c.step.push(num(r.step) ?? 0);
    const t = typeof r.time === 'string' ? Date.parse(r.time) : NaN;
    c.time.push(Number.isFinite(t) ? t : 0);
    c.lr.push(num(r.lr) ?? 0);
    c.samplesPerSec.push(num(r.samplesPerSec) ?? 0);
    c.rssMb.push(num(r.rssMb));
    c.tensorMb.push(num(r.tensorMb));
    c.total.push(num(r.loss?.total));
    for (const t of LOSS_TERMS) {
      c.raw[t].push(num(r.loss?.[t]));
      c.weighted[t].push(num(r.weighted?.[t]));
    }
    if (r.weights && typeof r.weights === 'object') c.weights[r.stage] = { ...c.weights[r.stage], ...r.weights };
  }
  return c;
}

/** Appends `more` (built with `metricsToColumns(rows, into.stages)`) to `into`, in place. */
export function appendColumns(into: MetricsColumns, more: MetricsColumns): void {
  into.stages = more.stages.length >= into.stages.length ? [...more.stages] : into.stages;
  const push = <T>(a: T[], b: T[]): void => {
    for (const v of b) a.push(v);
  };
  push(into.stage, more.stage);
  push(into.globalStep, more.globalStep);
  push(into.step, more.step);
  push(into.time, more.time);
  push(into.lr, more.lr);
  push(into.samplesPerSec, more.samplesPerSec);
  push(into.rssMb, more.rssMb);
  push(into.tensorMb, more.tensorMb);
  push(into.total, more.total);
  for (const t of LOSS_TERMS) {
    push(into.raw[t], more.raw[t]);
    push(into.weighted[t], more.weighted[t]);
  }
  for (const [s, w] of Object.entries(more.weights)) into.weights[s] = { ...into.weights[s], ...w };
}
