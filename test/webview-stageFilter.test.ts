// Tests of media/lib/stageFilter.ts and the step-in-track axis of media/lib/xAxis.ts: the
// dashboard opens on the distillation stages, and the baseline and KD tracks line up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsLine } from '../src/common/runFormat';
import { metricsToColumns } from '../src/common/metricsColumns';
import { defaultFilter, filterOptions, isPretraining, stageShown, trackOf } from '../media/lib/stageFilter';
import { effectiveAxis, evalX, trackStarts, xColumn } from '../media/lib/xAxis';

const FULL = ['vision/vision', 'teacher/pt', 'teacher/sft', 'student/lm', 'baseline/pt', 'baseline/sft', 'kd/dpt', 'kd/sft', 'kd/dft'];

test('stage filter: distillation stages leave out vision and LM pre-training, tracks and single stages', () => {
  assert.deepEqual(FULL.filter((s) => stageShown('distill', s)), ['teacher/pt', 'teacher/sft', 'baseline/pt', 'baseline/sft', 'kd/dpt', 'kd/sft', 'kd/dft']);
  assert.deepEqual(FULL.filter((s) => stageShown('track:kd', s)), ['kd/dpt', 'kd/sft', 'kd/dft']);
  assert.deepEqual(FULL.filter((s) => stageShown('kd/sft', s)), ['kd/sft']);
  assert.equal(FULL.filter((s) => stageShown('all', s)).length, FULL.length);
  assert.equal(isPretraining('teacher/lm'), true);
  assert.equal(isPretraining('teacher/pt'), false);
  assert.equal(trackOf('baseline/sft'), 'baseline');
});

test('stage filter: the default is the distillation view when runs have pre-training too; a saved choice the runs still offer is kept', () => {
  const opts = filterOptions(FULL);
  assert.deepEqual(opts.slice(0, 5).map((o) => o.value), ['distill', 'all', 'track:teacher', 'track:baseline', 'track:kd']);
  assert.equal(defaultFilter(opts, undefined), 'distill');
  assert.equal(defaultFilter(opts, 'kd/dft'), 'kd/dft');
  assert.equal(defaultFilter(opts, 'kd/gone'), 'distill');
  // A DFT-only run: nothing to leave out, one track: no distill or track entries.
  const dftOnly = filterOptions(['kd/dft']);
  assert.deepEqual(dftOnly.map((o) => o.value), ['all', 'kd/dft']);
  assert.equal(defaultFilter(dftOnly, 'distill'), 'all');
});

const line = (stage: string, step: number, globalStep: number): MetricsLine => ({
  time: '2026-01-01T00:00:00Z', stage, step, globalStep, lr: 1e-3, loss: { total: 1, ce: 1 } as MetricsLine['loss'], weighted: { ce: 1 }, weights: { ce: 1 }, gradNorm: 1, samplesPerSec: 10,
});

test('step in track: the baseline (pt 100 + sft 200) and the KD student (dpt 100 + sft 100 + dft 100) both start at 0', () => {
  const c = metricsToColumns([
    line('student/lm', 50, 50),
    line('baseline/pt', 100, 150), line('baseline/sft', 100, 250), line('baseline/sft', 200, 350),
    line('kd/dpt', 100, 450), line('kd/sft', 100, 550), line('kd/dft', 100, 650),
  ]);
  assert.deepEqual(xColumn(c, 'track'), [50, 100, 200, 300, 100, 200, 300]);
  const starts = trackStarts(c);
  assert.equal(starts.get('kd'), 350);
  assert.equal(evalX({ stage: 'kd/dft', step: 100, globalStep: 650, time: '' }, 'track', 0, starts), 300);
  assert.equal(evalX({ stage: 'teacher/sft', step: 7, globalStep: 20, time: '' }, 'track', 0, starts), 7, 'a track without metrics: its own stage step');
  assert.equal(effectiveAxis('auto', 'track:kd'), 'track');
  assert.equal(effectiveAxis('auto', 'distill'), 'global');
  assert.equal(effectiveAxis('stage', 'distill'), 'global');
  assert.equal(effectiveAxis('auto', 'kd/dft'), 'stage');
});
