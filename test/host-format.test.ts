// Tests of src/common/format.ts: durations, percentages, sizes and the status-bar text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccuracyRecord, formatBytes, formatDuration, percent, statusBarText } from '../src/common/format';

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(80), '1m 20s');
  assert.equal(formatDuration(120), '2m');
  assert.equal(formatDuration(3725), '1h 2m');
  assert.equal(formatDuration(90061), '1d 1h');
  assert.equal(formatDuration(-1), '?');
  assert.equal(formatDuration(NaN), '?');
});

test('percent clamps and floors', () => {
  assert.equal(percent(120, 400), 30);
  assert.equal(percent(399, 400), 99);
  assert.equal(percent(5, 0), 0);
  assert.equal(percent(500, 400), 100);
});

test('formatBytes', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MB');
});

test('statusBarText matches the spec example', () => {
  assert.equal(statusBarText({ stage: 'kd/dft', step: 120, totalSteps: 400, etaSeconds: 80 }), '$(sync~spin) kd/dft 120/400 · ETA 1m 20s');
  assert.equal(statusBarText({ stage: 'teacher/sft', step: 10, totalSteps: 400, etaSeconds: 80, etaRough: true }), '$(sync~spin) teacher/sft 10/400 · ETA ~1m 20s (rough)');
  assert.equal(statusBarText({ stage: null, step: 0, totalSteps: 0 }), '$(sync~spin) starting');
  assert.equal(statusBarText({ stage: 'kd/dpt', step: 3, totalSteps: 10 }, 2), '$(sync~spin) kd/dpt 3/10 (+2 running)');
  assert.equal(statusBarText({ stage: 'kd/dpt', step: 3, totalSteps: 10 }, 0, 1), '$(sync~spin) kd/dpt 3/10 (1 queued)');
  assert.equal(statusBarText({ stage: 'kd/dpt', step: 3, totalSteps: 10 }, 1, 2), '$(sync~spin) kd/dpt 3/10 (+1 running, 2 queued)');
});

test('formatAccuracyRecord puts kd first', () => {
  assert.equal(formatAccuracyRecord({ teacher: 0.83, kd: 0.7125, baseline: 0.64 }), 'kd 71.3% · baseline 64.0% · teacher 83.0%');
  assert.equal(formatAccuracyRecord(undefined), '');
});
