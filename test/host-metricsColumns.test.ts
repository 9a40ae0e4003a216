// Tests of src/common/metricsColumns.ts: metrics lines to columns, and appends continuing the stage table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsLine } from '../src/common/runFormat';
import { appendColumns, metricsToColumns } from '../src/common/metricsColumns';

const line = (stage: string, g: number, loss: MetricsLine['loss'], weights: MetricsLine['weights'] = {}): MetricsLine => ({
  time: 't', stage, step: g, globalStep: g, lr: 0.001, loss, weighted: Object.fromEntries(Object.entries(loss).filter(([k]) => k !== 'total').map(([k, v]) => [k, (v as number) * ((weights as Record<string, number>)[k] ?? 1)])), weights, gradNorm: 1, samplesPerSec: 10,
});

test('columns with null for inactive terms', () => {
  const c = metricsToColumns([line('kd/sft', 1, { ce: 2, total: 2 }), line('kd/dft', 2, { ce: 1, vis: 0.4, total: 1.2 }, { ce: 1, vis: 0.5 })]);
  assert.deepEqual(c.stages, ['kd/sft', 'kd/dft']);
  assert.deepEqual(c.stage, [0, 1]);
  assert.deepEqual(c.raw.vis, [null, 0.4]);
  assert.deepEqual(c.weighted.vis, [null, 0.2]);
  assert.deepEqual(c.total, [2, 1.2]);
  assert.deepEqual(c.weights['kd/dft'], { ce: 1, vis: 0.5 });
});

test('appends continue the stage indices', () => {
  const a = metricsToColumns([line('kd/dpt', 1, { ce: 3, total: 3 })]);
  const b = metricsToColumns([line('kd/dpt', 2, { ce: 2.5, total: 2.5 }), line('kd/sft', 3, { ce: 2, total: 2 })], a.stages);
  assert.deepEqual(b.stage, [0, 1]);
  appendColumns(a, b);
  assert.deepEqual(a.stages, ['kd/dpt', 'kd/sft']);
  assert.deepEqual(a.globalStep, [1, 2, 3]);
  assert.deepEqual(a.raw.ce, [3, 2.5, 2]);
});

test('lines without globalStep are skipped', () => {
  const c = metricsToColumns([{ stage: 'x' } as unknown as MetricsLine]);
  assert.equal(c.globalStep.length, 0);
});

test('lastPerKey: the lines an interrupted process wrote after its checkpoint are superseded by the resumed ones', async () => {
  const { lastPerKey, metricsKey, evalKey } = await import('../src/common/runReader');
  const m = (step: number, loss: number) => ({ stage: 'kd/dft', step, loss });
  const rows = [m(1, 5), m(2, 4), m(3, 3.9), m(4, 3.8), /* killed; resumed from the step-2 checkpoint */ m(3, 3.7), m(4, 3.6), m(5, 3.5)];
  assert.deepEqual(lastPerKey(rows, metricsKey).map((r) => [r.step, r.loss]), [[1, 5], [2, 4], [3, 3.7], [4, 3.6], [5, 3.5]]);
  const e = (step: number, model: string, accuracy: number) => ({ stage: 'kd/dft', step, split: 'val', model, accuracy });
  assert.deepEqual(lastPerKey([e(10, 'kd', 0.1), e(10, 'teacher', 0.8), e(10, 'kd', 0.2)], evalKey).map((r) => [r.model, r.accuracy]), [['teacher', 0.8], ['kd', 0.2]]);
});

test('system figures: process and tensor memory per line, null on older lines without them; appended too', () => {
  const a = metricsToColumns([line('kd/dft', 1, { ce: 1, total: 1 }), { ...line('kd/dft', 2, { ce: 1, total: 1 }), rssMb: 640, tensorMb: 12.5 }]);
  assert.deepEqual(a.rssMb, [null, 640]);
  assert.deepEqual(a.tensorMb, [null, 12.5]);
  appendColumns(a, metricsToColumns([{ ...line('kd/dft', 3, { ce: 1, total: 1 }), rssMb: 650, tensorMb: 12.5 }], a.stages));
  assert.deepEqual(a.rssMb, [null, 640, 650]);
});
