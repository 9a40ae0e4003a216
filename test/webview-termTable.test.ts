// Tests of media/lib/termTable.ts (the dashboard's loss-term table) on columns built from metrics lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsLine } from '../src/common/runFormat';
import { metricsToColumns } from '../src/common/metricsColumns';
import { termTable } from '../media/lib/termTable';

const line = (stage: string, step: number, loss: Record<string, number>, weights: Record<string, number>): MetricsLine => ({
  time: '2026-01-01T00:00:00Z', stage, step, globalStep: step, lr: 1e-3, loss: { total: 1, ...loss } as MetricsLine['loss'],
  weighted: Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v * (weights[k] ?? 1)])), weights, gradNorm: 1, samplesPerSec: 10,
});

// A vision stage (Task), DPT (CE + MDist + RDist), SFT (CE), DFT (all four).
const cols = metricsToColumns([
  line('vision/vision', 10, { task: 2.5 }, { task: 1 }),
  line('kd/dpt', 5, { ce: 3.1, res: 0.9, vis: 0.8, rel: 0.02 }, { ce: 1, res: 1, vis: 1, rel: 1 }),
  line('kd/dpt', 10, { ce: 3.0, res: 0.7, vis: 0.6, rel: 0.01 }, { ce: 1, res: 1, vis: 1, rel: 1 }),
  line('kd/sft', 10, { ce: 1.5 }, { ce: 1 }),
  line('kd/dft', 5, { ce: 1.2, res: 0.3, vis: 0.2, rel: 0.004 }, { ce: 1, res: 0.5, vis: 0.5, rel: 2 }),
  line('kd/dft', 10, { ce: 1.1, res: 0.25, vis: 0.15, rel: 0.003 }, { ce: 1, res: 0.5, vis: 0.5, rel: 2 }),
]);

test('term table: the chosen stage\'s last values, not the run\'s last (kd/dpt shows DPT\'s numbers)', () => {
  const t = termTable(cols, 'kd/dpt');
  assert.equal(t.stage, 'kd/dpt');
  assert.deepEqual(t.rows.map((r) => [r.term, r.raw, r.weighted]), [['ce', 3.0, 3.0], ['res', 0.7, 0.7], ['vis', 0.6, 0.6], ['rel', 0.01, 0.01]]);
});

test('term table: only the terms the stage trained with (no stale Task row outside the vision stage)', () => {
  assert.deepEqual(termTable(cols, 'kd/sft').rows.map((r) => r.term), ['ce']);
  assert.deepEqual(termTable(cols, 'vision/vision').rows.map((r) => [r.term, r.raw]), [['task', 2.5]]);
  const all = termTable(cols, 'all');
  assert.equal(all.stage, 'kd/dft', 'all stages: the latest stage');
  assert.deepEqual(all.rows.map((r) => [r.term, r.raw, r.weighted]), [['ce', 1.1, 1.1], ['res', 0.25, 0.125], ['vis', 0.15, 0.075], ['rel', 0.003, 0.006]]);
});

test('term table: a stage without metrics, and a run without any, give no rows', () => {
  assert.deepEqual(termTable(cols, 'baseline/sft'), { stage: null, rows: [] });
  assert.deepEqual(termTable(metricsToColumns([]), 'all'), { stage: null, rows: [] });
});

test('term table: the distillation view and a track view take the latest of their stages', () => {
  const withBaseline = metricsToColumns([
    line('vision/vision', 10, { task: 2.5 }, { task: 1 }),
    line('baseline/sft', 10, { ce: 2.0 }, { ce: 1 }),
    line('kd/dft', 10, { ce: 1.1, res: 0.25, vis: 0.15, rel: 0.003 }, { ce: 1, res: 0.5, vis: 0.5, rel: 2 }),
    line('student/lm', 10, { task: 4 }, { task: 1 }),
  ]);
  assert.equal(termTable(withBaseline, 'distill').stage, 'kd/dft', 'the later student/lm row is pre-training, not shown');
  assert.equal(termTable(withBaseline, 'all').stage, 'student/lm');
  assert.deepEqual(termTable(withBaseline, 'track:baseline').rows.map((r) => [r.term, r.raw]), [['ce', 2.0]]);
  assert.deepEqual(termTable(withBaseline, 'track:teacher'), { stage: null, rows: [] });
});
