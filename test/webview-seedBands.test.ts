// Tests of media/lib/seedBands.ts: the mean ± std band of a seed group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignedXs, seedBand } from '../media/lib/seedBands';

test('seed band: mean and ± sample std per x; an x only one member has gets a zero-width band', () => {
  const b = seedBand([[{ x: 1, y: 1 }, { x: 2, y: 4 }], [{ x: 1, y: 3 }, { x: 2, y: 6 }, { x: 3, y: 9 }]]);
  assert.deepEqual(b.mean, [{ x: 1, y: 2 }, { x: 2, y: 5 }, { x: 3, y: 9 }]);
  assert.deepEqual(b.n, [2, 2, 1]);
  const sd = Math.SQRT2; // values 1 and 3: sample std √2
  assert.ok(Math.abs(b.lo[0].y - (2 - sd)) < 1e-12 && Math.abs(b.hi[0].y - (2 + sd)) < 1e-12);
  assert.equal(b.lo[2].y, 9);
  assert.equal(b.hi[2].y, 9);
});

test('seed band: members on the same steps are aligned, on wall time they are not', () => {
  assert.equal(alignedXs([[{ x: 1, y: 0 }, { x: 2, y: 0 }], [{ x: 1, y: 1 }, { x: 2, y: 1 }]]), true);
  assert.equal(alignedXs([[{ x: 0.11, y: 0 }, { x: 0.52, y: 0 }], [{ x: 0.13, y: 1 }, { x: 0.49, y: 1 }]]), false);
});
