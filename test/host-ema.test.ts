// Tests of media/lib/ema.ts against hand-computed de-biased EMA values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smoothEma, typicalGap } from '../media/lib/ema';

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
