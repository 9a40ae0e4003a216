// Tests of src/host/core/quickFixEdits.ts (and the suggestions of the config validator behind it):
// a misspelt key, an unknown enum value or preset becomes an edit that makes the file valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExperimentText } from '../src/trainer/config';
import { quickFixes, type QuickFixEdit } from '../src/host/core/quickFixEdits';

const fixesOf = (text: string): QuickFixEdit[] => quickFixes(text, checkExperimentText(text, 'kd-experiment.json').errors);
const apply = (text: string, f: QuickFixEdit): string => text.slice(0, f.range.offset) + f.newText + text.slice(f.range.offset + f.range.length);
const valid = (text: string): boolean => checkExperimentText(text, 'kd-experiment.json').errors.length === 0;

test('misspelt key: the key is replaced by the suggestion, and the file validates', () => {
  const text = '{\n  "preset": "tiny",\n  "stages": { "dft": { "optimizer": { "lrr": 0.001 } } }\n}\n';
  const fixes = fixesOf(text);
  assert.equal(fixes.length, 1);
  const [f] = fixes;
  assert.equal(f.title, 'Change key "lrr" to "lr"');
  assert.equal(f.path, 'stages.dft.optimizer.lrr');
  assert.equal(text.slice(f.range.offset, f.range.offset + f.range.length), '"lrr"');
  assert.equal(apply(text, f), '{\n  "preset": "tiny",\n  "stages": { "dft": { "optimizer": { "lr": 0.001 } } }\n}\n');
  assert.ok(valid(apply(text, f)));
});

test('unknown enum values and preset: the value is replaced', () => {
  const text = '{\n  "preset": "tny",\n  "data": { "source": "wrold" },\n  "pipeline": { "kd": ["dtp", "sft", "dft"] }\n}\n';
  const fixes = fixesOf(text);
  assert.deepEqual(fixes.map((f) => [f.path, f.newText]), [['preset', '"tiny"'], ['data.source', '"world"'], ['pipeline.kd[0]', '"dpt"']]);
  assert.equal(fixes[1].title, 'Change value "wrold" to "world"');
  const fixed = fixes.reduceRight((t, f) => apply(t, f), text); // last first: earlier offsets stay right
  assert.equal(fixed, '{\n  "preset": "tiny",\n  "data": { "source": "world" },\n  "pipeline": { "kd": ["dpt", "sft", "dft"] }\n}\n');
  assert.ok(valid(fixed));
});

test('no fix without a plain replacement: unknown key with no near name, a move (lr -> optimizer.lr), a wrong type', () => {
  const text = '{\n  "bogusKey": 1,\n  "stages": { "dft": { "lr": 0.1 } },\n  "seed": "seven"\n}\n';
  const issues = checkExperimentText(text, 'x').errors;
  assert.ok(issues.some((i) => /did you mean "optimizer.lr"/.test(i.message)));
  assert.deepEqual(fixesOf(text), []);
});

test('a stale issue (the text changed since) gives no edit', () => {
  const old = '{\n  "stages": { "dft": { "optimizer": { "lrr": 1 } } }\n}\n';
  const issues = checkExperimentText(old, 'x').errors;
  assert.equal(quickFixes(old, issues).length, 1);
  // "lrr" is gone: the path now leads only to "optimizer", which must not be renamed.
  assert.deepEqual(quickFixes('{\n  "stages": { "dft": { "optimizer": { "lr": 1 } } }\n}\n', issues), []);
  assert.deepEqual(quickFixes('{\n  "preset": "tiny"\n}\n', issues), []);
});
