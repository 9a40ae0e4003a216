// Tests of media/lib/stageLabels.ts: stage labels stay inside the plot and do not overlap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutStageLabels } from '../media/lib/stageLabels';

test('stage labels: a label at the right edge goes left of its line, inside the plot', () => {
  const [a, b] = layoutStageLabels([{ px: 10, width: 40 }, { px: 295, width: 40 }], 0, 300);
  assert.deepEqual(a, { x: 13, row: 0 });
  assert.ok(b.x + 40 <= 300 && b.x >= 0, `inside: ${JSON.stringify(b)}`);
  assert.equal(b.x, 295 - 3 - 40);
});

test('stage labels: close lines stack on rows instead of dropping labels; every label is placed inside', () => {
  const labels = Array.from({ length: 9 }, (_, i) => ({ px: 20 + i * 12, width: 50 }));
  const placed = layoutStageLabels(labels, 0, 400);
  assert.equal(placed.length, 9);
  for (const p of placed) assert.ok(p.x >= 0 && p.x + 50 <= 400);
  // No two labels of one row overlap among the first rows used.
  for (let i = 0; i < 4; i++) assert.equal(placed[i].row, i, 'the first four go on rows 0-3');
  const byRow = new Map<number, number[]>();
  placed.slice(0, 4).forEach((p) => byRow.set(p.row, [...(byRow.get(p.row) ?? []), p.x]));
  assert.equal(byRow.size, 4);
  // Far-apart labels share row 0.
  assert.deepEqual(layoutStageLabels([{ px: 0, width: 30 }, { px: 100, width: 30 }], 0, 300).map((p) => p.row), [0, 0]);
  // A label wider than the plot still starts at its left edge.
  assert.equal(layoutStageLabels([{ px: 50, width: 500 }], 0, 300)[0].x, 0);
});
