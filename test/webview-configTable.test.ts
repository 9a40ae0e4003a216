// Tests of media/lib/configTable.ts: n-way rows, differences only, key search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRows, filterRows, formatCell } from '../media/lib/configTable';

const cols: { values: Record<string, string | number | boolean> }[] = [
  { values: { 'stages.dft.loss.vis': 1, 'stages.dft.optimizer.lr': 2e-5, name: 'a', 'distill.divergence': 'forward_kl' } },
  { values: { 'stages.dft.loss.vis': 0.5, 'stages.dft.optimizer.lr': 2e-5, name: 'b' } },
];

test('rows are the sorted union with missing cells', () => {
  const rows = buildRows(cols);
  assert.deepEqual(rows.map((r) => r.key), ['distill.divergence', 'name', 'stages.dft.loss.vis', 'stages.dft.optimizer.lr']);
  assert.deepEqual(rows[0].values, ['forward_kl', undefined]);
  assert.deepEqual(rows.map((r) => r.differs), [true, true, true, false]);
});

test('differences only and search', () => {
  const rows = buildRows(cols);
  assert.deepEqual(filterRows(rows, true, '').map((r) => r.key), ['distill.divergence', 'name', 'stages.dft.loss.vis']);
  assert.deepEqual(filterRows(rows, false, 'DFT lr').map((r) => r.key), ['stages.dft.optimizer.lr']);
  assert.deepEqual(filterRows(rows, false, 'forward').map((r) => r.key), ['distill.divergence']);
});

test('three equal columns do not differ; formatCell', () => {
  const rows = buildRows([{ values: { a: 1 } }, { values: { a: 1 } }, { values: { a: 1 } }]);
  assert.equal(rows[0].differs, false);
  assert.equal(formatCell(undefined), '—');
  assert.equal(formatCell(''), '""');
  assert.equal(formatCell(false), 'false');
});
