// Tests of media/lib/paramsResults.ts: numeric config keys as x, one result point per run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EvalLine } from '../src/common/runFormat';
import { numericKeys, resultOf, resultPoints } from '../media/lib/paramsResults';
import type { TableRun } from '../media/lib/runTable';

const ev = (model: string, split: string, accuracy: number): EvalLine => ({ model, split, accuracy, byType: {}, stage: 'kd/dft', step: 1, globalStep: 1, time: '' } as unknown as EvalLine);
const run = (key: string, rel: number | string, kd: number, extra: EvalLine[] = []): TableRun => ({
  key, runId: key, label: key, config: { seed: 1, 'stages.dft.loss.rel': rel, 'distill.divergence': 'forward_kl' }, evals: [ev('kd', 'val', kd - 0.1), ev('kd', 'test', kd), ...extra],
});

test('params vs results: only keys numeric in every run are axes', () => {
  const runs = [run('a', 0, 0.5), run('b', 1, 0.6)];
  assert.deepEqual(numericKeys(runs, ['stages.dft.loss.rel', 'distill.divergence']), ['stages.dft.loss.rel']);
  assert.deepEqual(numericKeys([...runs, run('c', 'x', 0.1)], ['stages.dft.loss.rel']), []);
});

test('params vs results: a point per run with the metric; gap closed needs teacher above baseline', () => {
  const full = run('a', 0.5, 0.6, [ev('teacher', 'test', 0.8), ev('baseline', 'test', 0.4)]);
  assert.ok(Math.abs(resultOf(full, 'gapClosed')! - 0.5) < 1e-12);
  assert.ok(Math.abs(resultOf(full, 'kdMinusBaseline')! - 0.2) < 1e-12);
  assert.ok(Math.abs(resultOf(full, 'valKd')! - 0.5) < 1e-12);
  assert.equal(resultOf(run('b', 1, 0.6), 'gapClosed'), undefined);
  assert.equal(resultOf(run('c', 1, 0.6, [ev('teacher', 'test', 0.3), ev('baseline', 'test', 0.4)]), 'gapClosed'), undefined, 'teacher below baseline: no gap');
  assert.deepEqual(resultPoints([full, run('b', 1, 0.7)], 'stages.dft.loss.rel', 'testKd').map((p) => [p.x, p.y]), [[0.5, 0.6], [1, 0.7]]);
  assert.deepEqual(resultPoints([full, run('b', 1, 0.7)], 'stages.dft.loss.rel', 'gapClosed').map((p) => p.key), ['a']);
});
