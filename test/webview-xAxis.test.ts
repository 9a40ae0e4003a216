// Tests of media/lib/xAxis.ts: the dashboard's x-axis choices line up a stage across runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsLine } from '../src/common/runFormat';
import { metricsToColumns } from '../src/common/metricsColumns';
import { effectiveAxis, evalX, xColumn } from '../media/lib/xAxis';

const line = (stage: string, step: number, globalStep: number, time: string): MetricsLine => ({
  time, stage, step, globalStep, lr: 1e-3, loss: { total: 1, ce: 1 } as MetricsLine['loss'], weighted: { ce: 1 }, weights: { ce: 1 }, gradNorm: 1, samplesPerSec: 10,
});

test('x axis: a DFT-only run started from a finished run lines up with its parent\'s DFT on "step in stage"', () => {
  // The parent's DFT sits at global steps 3900-4300; the child's DFT is its whole run (1-400).
  const parent = metricsToColumns([line('kd/sft', 3900, 3900, '2026-01-01T00:00:00Z'), line('kd/dft', 100, 4000, '2026-01-01T00:01:00Z'), line('kd/dft', 400, 4300, '2026-01-01T00:04:00Z')]);
  const child = metricsToColumns([line('kd/dft', 100, 100, '2026-01-02T00:00:30Z'), line('kd/dft', 400, 400, '2026-01-02T00:03:30Z')]);
  assert.deepEqual(xColumn(parent, 'stage').slice(1), [100, 400]);
  assert.deepEqual(xColumn(child, 'stage'), [100, 400]);
  assert.deepEqual(xColumn(parent, 'global'), [3900, 4000, 4300]);
  // Wall time: minutes since each run's first logged step.
  assert.deepEqual(xColumn(parent, 'time'), [0, 1, 4]);
  assert.deepEqual(xColumn(child, 'time'), [0, 3]);
});

test('x axis: auto is step in stage with one stage chosen, global step with all; step in stage needs a stage', () => {
  assert.equal(effectiveAxis('auto', 'kd/dft'), 'stage');
  assert.equal(effectiveAxis('auto', 'all'), 'global');
  assert.equal(effectiveAxis('stage', 'all'), 'global');
  assert.equal(effectiveAxis('time', 'kd/dft'), 'time');
  assert.equal(effectiveAxis('global', 'kd/dft'), 'global');
});

test('x axis: evals on each axis; unparsable times fall back to 0', () => {
  const e = { stage: 'kd/dft', step: 50, globalStep: 4000, time: '2026-01-01T00:02:00Z' };
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(evalX(e, 'stage', t0), 50);
  assert.equal(evalX(e, 'global', t0), 4000);
  assert.equal(evalX(e, 'time', t0), 2);
  assert.equal(evalX({ ...e, time: 'not a time' }, 'time', t0), 0);
  const bad = metricsToColumns([line('kd/dft', 1, 1, 'garbage')]);
  assert.deepEqual(bad.time, [0]);
});
