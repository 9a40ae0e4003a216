// Tests of media/lib/zoom.ts: the x range a drag selects, and panning inside the data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { panBy, rangeFromDrag } from '../media/lib/zoom';

test('zoom: a drag either way selects the range; a click does not', () => {
  assert.deepEqual(rangeFromDrag(300, 100, 1), { min: 100, max: 300 });
  assert.deepEqual(rangeFromDrag(100, 300, 1), { min: 100, max: 300 });
  assert.equal(rangeFromDrag(100, 100.5, 1), null);
});

test('pan: the width is kept and the range stays inside the data', () => {
  assert.deepEqual(panBy({ min: 100, max: 200 }, 50, 0, 1000), { min: 150, max: 250 });
  assert.deepEqual(panBy({ min: 100, max: 200 }, -500, 0, 1000), { min: 0, max: 100 });
  assert.deepEqual(panBy({ min: 800, max: 900 }, 500, 0, 1000), { min: 900, max: 1000 });
});
