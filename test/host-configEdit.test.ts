// Tests of src/host/core/configEdit.ts: hyper-parameter writes keep comments and become one minimal edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHyperValues, detectFormatting, minimalReplace, stageHypersOf } from '../src/host/core/configEdit';

test('minimalReplace', () => {
  assert.deepEqual(minimalReplace('abcdef', 'abXYef'), { offset: 2, length: 2, text: 'XY' });
  assert.deepEqual(minimalReplace('aaa', 'aaaa'), { offset: 3, length: 0, text: 'a' });
  assert.equal(minimalReplace('x', 'x'), null);
});

test('writes into an existing object and creates missing ones', () => {
  const src = '{\n    // my experiment\n    "preset": "default",\n    "stages": { "dft": { "loss": { "vis": 1 } } }\n}\n';
  const r = applyHyperValues(src, 'kd-experiment.json', 'dft', { vis: 0.5, lr: 1e-4 });
  const parsed = JSON.parse(r.text.replace(/\/\/.*\n/, '\n'));
  assert.equal(parsed.stages.dft.loss.vis, 0.5);
  assert.equal(parsed.stages.dft.optimizer.lr, 1e-4);
  assert.ok(r.text.includes('// my experiment'));
  assert.deepEqual(r.paths, ['stages.dft.optimizer.lr', 'stages.dft.loss.vis']);
  const e = r.edit!;
  assert.equal(src.slice(0, e.offset) + e.text + src.slice(e.offset + e.length), r.text);

  const r2 = applyHyperValues('{"preset":"default"}', 'f', 'dpt', { rel: 0.5 });
  assert.deepEqual(JSON.parse(r2.text), { preset: 'default', stages: { dpt: { loss: { rel: 0.5 } } } });
});

test('rejects non-objects and detects formatting', () => {
  assert.throws(() => applyHyperValues('[1]', '/e/kd-experiment.json', 'dft', { vis: 1 }), /kd-experiment.json: expected a JSON object/);
  assert.deepEqual(detectFormatting('{\n\t"a": 1\n}'), { insertSpaces: false, tabSize: 4, eol: '\n' });
  assert.deepEqual(detectFormatting('{\r\n    "a": 1\r\n}'), { insertSpaces: true, tabSize: 4, eol: '\r\n' });
});

test('stageHypersOf reads a resolved config', () => {
  const cfg = { stages: { dft: { optimizer: { lr: 2e-5 }, loss: { ce: 1, res: 1, vis: 1, rel: 0.5 } }, sft: { optimizer: { lr: 2e-5 }, loss: { ce: 1, res: 0, vis: 0, rel: 0 } } } };
  assert.deepEqual(stageHypersOf(cfg), [
    { kind: 'sft', lr: 2e-5, loss: { ce: 1, res: 0, vis: 0, rel: 0 } },
    { kind: 'dft', lr: 2e-5, loss: { ce: 1, res: 1, vis: 1, rel: 0.5 } },
  ]);
  assert.deepEqual(stageHypersOf(null), []);
});
