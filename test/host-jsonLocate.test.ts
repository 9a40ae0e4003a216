// Tests of src/host/core/jsonLocate.ts: config paths to text ranges of a JSONC document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locatePath, offsetToPosition, splitPath } from '../src/host/core/jsonLocate';

const text = `{
  // comment
  "preset": "default",
  "stages": {
    "dft": { "loss": { "vis": -1 } }
  },
  "pipeline": { "kd": ["dpt", "sfx"] }
}`;

const at = (p: string): string => {
  const r = locatePath(text, p);
  return text.slice(r.offset, r.offset + r.length);
};

test('splitPath', () => {
  assert.deepEqual(splitPath('stages.dft.loss.vis'), ['stages', 'dft', 'loss', 'vis']);
  assert.deepEqual(splitPath('/pipeline/kd/1'), ['pipeline', 'kd', 1]);
  assert.deepEqual(splitPath('pipeline.kd[1]'), ['pipeline', 'kd', 1]);
});

test('values are found', () => {
  assert.equal(at('stages.dft.loss.vis'), '-1');
  assert.equal(at('pipeline.kd[1]'), '"sfx"');
  assert.equal(at('/preset'), '"default"');
});

test('missing leaf falls back to the deepest existing key', () => {
  assert.equal(at('stages.dft.loss.rel'), '"loss"');
  assert.equal(at('stages.sft.steps'), '"stages"');
  assert.equal(at('nope'), '{');
});

test('line numbers', () => {
  const r = locatePath(text, 'stages.dft.loss.vis');
  assert.deepEqual(offsetToPosition(text, r.offset), { line: 4, character: text.split('\n')[4].indexOf('-1') });
  assert.deepEqual(offsetToPosition('ab\ncd', 4), { line: 1, character: 1 });
});

test('issueRange prefers the value at the path on the issue line', async () => {
  const { issueRange, positionToOffset } = await import('../src/host/core/jsonLocate');
  const t = '{\n  "stages": { "dft": { "loss": { "vis": "high" } } }\n}';
  const r = issueRange(t, { path: 'stages.dft.loss.vis', line: 2, column: 35 });
  assert.equal(t.slice(r.offset, r.offset + r.length), '"high"');
  const syn = '{\n  "a": 1\n  "b": 2\n}';
  const r2 = issueRange(syn, { path: '', line: 3, column: 3 });
  assert.equal(syn.slice(r2.offset, r2.offset + r2.length), '"b"');
  assert.equal(positionToOffset('ab\ncd', 2, 2), 4);
  const r3 = issueRange(t, { path: 'stages.dft.loss.vis' });
  assert.equal(t.slice(r3.offset, r3.offset + r3.length), '"high"');
});

test('issueRange underlines the key of an unknown key, the value of a wrong type', async () => {
  const { issueRange } = await import('../src/host/core/jsonLocate');
  const t = '{\n  "preset": "tiny",\n  "bogusKey": 1,\n  "seed": "seven"\n}\n';
  const slice = (r: { offset: number; length: number }): string => t.slice(r.offset, r.offset + r.length);
  assert.equal(slice(issueRange(t, { path: 'bogusKey', line: 3, column: 3, found: 'unknown key "bogusKey"' })), '"bogusKey"');
  assert.equal(slice(issueRange(t, { path: 'seed', line: 4, column: 3, found: '"seven" (a string)' })), '"seven"');
});
