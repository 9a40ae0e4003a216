// Tests of media/lib/ema.ts against hand-computed de-biased EMA values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smoothEma, smoothEmaByStage, typicalGap } from '../media/lib/ema';

const close = (a: number[], b: number[]): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `index ${i}: ${v} vs ${b[i]}`));
};

test('evenly spaced: TensorBoard de-biased EMA, w = 0.5', () => {
  // s1 = 0.5/0.5 = 1; s2 = 1.25/0.75; s3 = 2.125/0.875
  close(smoothEma([1, 2, 3], [1, 2, 3], 0.5), [1, 1.25 / 0.75, 2.125 / 0.875]);
});

test('weight 0 returns the raw values', () => {
  close(smoothEma([0, 1, 2], [3, -1, 7], 0), [3, -1, 7]);
});

test('de-biasing: a constant stays constant from the first point', () => {
  close(smoothEma([10, 20, 30, 40], [5, 5, 5, 5], 0.99), [5, 5, 5, 5]);
});

test('a gap of two steps decays twice as much', () => {
  // gaps 1,1,2 -> typical 1; last point decay 0.5^2 = 0.25:
  // acc: 2, 3, 3.5, 3.5*0.25 + 0.75*8 = 6.875; prod = 0.125*0.25 = 0.03125
  close(smoothEma([0, 1, 2, 4], [4, 4, 4, 8], 0.5), [4, 4, 4, 6.875 / 0.96875]);
});

test('non-finite values pass through without disturbing the average', () => {
  const out = smoothEma([1, 2, 3], [1, NaN, 3], 0.5);
  assert.ok(Number.isNaN(out[1]));
  // second finite point is two steps after the first: decay 0.25; acc = 0.5*0.25 + 0.75*3 = 2.375, prod = 0.125
  assert.ok(Math.abs(out[2] - 2.375 / 0.875) < 1e-12);
});

test('typicalGap is the median positive gap', () => {
  assert.equal(typicalGap([0, 10, 20, 50]), 10);
  assert.equal(typicalGap([5]), 1);
});

test('smoothEmaByStage restarts the average at every stage start', () => {
  // Two stages: x 1..3 (loss 1) and x 4..6 (loss 9). Without the restart the second stage's
  // curve would start between 1 and 9; with it, each stage is smoothed on its own.
  assert.deepEqual(smoothEmaByStage([1, 2, 3, 4, 5, 6], [1, 1, 1, 9, 9, 9], 0.5, [0, 3]), [1, 1, 1, 9, 9, 9]);
  const plain = smoothEma([1, 2, 3, 4, 5, 6], [1, 1, 1, 9, 9, 9], 0.5);
  assert.ok(plain[3] < 9 && plain[3] > 1, 'a plain EMA mixes the stages');
  // Inside one stage it is exactly smoothEma.
  assert.deepEqual(smoothEmaByStage([1, 2, 3], [1, 2, 3], 0.5, [0]), smoothEma([1, 2, 3], [1, 2, 3], 0.5));
  // Second segment = smoothEma of its own points: 4 then (0.5·4 + 8) / 1.5.
  const r = smoothEmaByStage([1, 2, 3, 4], [1, 1, 4, 8], 0.5, [0, 2]);
  assert.deepEqual(r.slice(0, 2), [1, 1]);
  assert.ok(Math.abs(r[2] - 4) < 1e-12 && Math.abs(r[3] - (0.5 * 0.5 * 4 + 0.5 * 8) / (1 - 0.25)) < 1e-12, JSON.stringify(r));
});
