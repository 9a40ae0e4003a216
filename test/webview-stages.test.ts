// Tests of media/lib/stages.ts: where each stage begins on the global step axis, points from
// columns, and sorting for the decimation plugin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureSorted, stageStarts, toPoints } from '../media/lib/stages';

test('stage starts: a row of stage S at in-stage step s and global step g means S began after g − s', () => {
  const c = { stages: ['kd/dpt', 'kd/sft'], stage: [0, 0, 1, 1], globalStep: [10, 20, 30, 40], step: [10, 20, 10, 20] };
  assert.deepEqual(stageStarts(c), [{ stage: 'kd/dpt', x: 0 }, { stage: 'kd/sft', x: 20 }]);
  // A run started from a later stage: its first stage begins where its parent left off.
  assert.deepEqual(stageStarts({ stages: ['kd/dft'], stage: [0], globalStep: [4005], step: [5] }), [{ stage: 'kd/dft', x: 4000 }]);
});

test('points: null and non-finite values dropped, a row filter applied; sorting only when needed', () => {
  assert.deepEqual(toPoints([1, 2, 3, 4], [1, null, NaN, 4]), [{ x: 1, y: 1 }, { x: 4, y: 4 }]);
  assert.deepEqual(toPoints([1, 2, 3], [5, 6, 7], (i) => i !== 1), [{ x: 1, y: 5 }, { x: 3, y: 7 }]);
  const sorted = [{ x: 1, y: 0 }, { x: 2, y: 0 }];
  assert.equal(ensureSorted(sorted), sorted, 'already sorted: the same array');
  assert.deepEqual(ensureSorted([{ x: 2, y: 1 }, { x: 1, y: 2 }]).map((p) => p.x), [1, 2]);
});
