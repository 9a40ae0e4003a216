// Tests of media/lib/series.ts: one series per track (the teacher's, the baseline's and the KD
// student's CE are three curves, not one joined line), and stable run colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsLine } from '../src/common/runFormat';
import { metricsToColumns } from '../src/common/metricsColumns';
import { runColorIndex, seriesLabel, splitByTrack, trackDash } from '../media/lib/series';

const line = (stage: string, globalStep: number, ce: number | undefined, task?: number): MetricsLine => ({
  time: '2026-01-01T00:00:00Z', stage, step: 1, globalStep, lr: 1e-3,
  loss: { total: ce ?? task ?? 0, ...(ce !== undefined ? { ce } : {}), ...(task !== undefined ? { task } : {}) } as MetricsLine['loss'],
  weighted: {}, weights: {}, gradNorm: 1, samplesPerSec: 10,
});

const cols = metricsToColumns([
  line('vision/vision', 1, undefined, 5),
  line('teacher/sft', 2, 2.0), line('teacher/sft', 3, 1.8),
  line('student/lm', 4, undefined, 6),
  line('baseline/sft', 5, 2.5),
  line('kd/dpt', 6, 3.0), line('kd/dft', 7, 2.2),
]);

test('series: CE split per track in the distillation view, teacher first, pre-training left out', () => {
  const parts = splitByTrack(cols, cols.globalStep, cols.raw.ce, 'distill');
  assert.deepEqual(parts.map((p) => [p.track, p.pts.map((q) => q.x)]), [['teacher', [2, 3]], ['baseline', [5]], ['kd', [6, 7]]]);
  assert.deepEqual(splitByTrack(cols, cols.globalStep, cols.raw.task, 'distill'), [], 'the Task loss of pre-training is not in this view');
  assert.deepEqual(splitByTrack(cols, cols.globalStep, cols.raw.task, 'all').map((p) => p.track), ['vision', 'student']);
  assert.deepEqual(splitByTrack(cols, cols.globalStep, cols.raw.ce, 'kd/dft').map((p) => p.pts), [[{ x: 7, y: 2.2 }]]);
});

test('series: labels name the track when a run shows several, the run when several runs are shown; dashes differ per track', () => {
  assert.equal(seriesLabel('CE', 'kd', 3, null), 'CE · kd');
  assert.equal(seriesLabel('CE', 'kd', 1, null), 'CE');
  assert.equal(seriesLabel('CE', 'kd', 3, 'run-1'), 'CE · kd · run-1');
  const dashes = ['teacher', 'baseline', 'kd'].map((t) => JSON.stringify(trackDash(t)));
  assert.equal(new Set(dashes).size, 3);
});

test('series: a run keeps its colour when runs are added after it', () => {
  const before = ['a', 'b'].map((k) => runColorIndex(['a', 'b'], k, 6));
  const after = ['a', 'b'].map((k) => runColorIndex(['a', 'b', 'c'], k, 6));
  assert.deepEqual(before, after);
  assert.notEqual(runColorIndex(['a', 'b', 'c'], 'c', 6), after[0]);
});
