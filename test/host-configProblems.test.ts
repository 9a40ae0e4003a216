// Tests of src/host/core/configProblems.ts and src/host/core/lensModel.ts: the Problems text of config
// issues ("did you mean" once), the issues left to VS Code's JSON support, the notice when a run
// is asked of an invalid file, and the CodeLens row over valid and invalid files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExperimentText, type ConfigIssue } from '../src/trainer/config';
import { diagnosticMessage, invalidRunMessage, issuesToShow } from '../src/host/core/configProblems';
import { experimentLenses, PROBLEMS_VIEW_COMMAND } from '../src/host/core/lensModel';

const issuesOf = (text: string): ConfigIssue[] => checkExperimentText(text, '/abs/ws/exp-a/kd-experiment.json').errors;
const count = (s: string, sub: string): number => s.split(sub).length - 1;

test('diagnosticMessage: "did you mean" at most once (unknown key, preset, enum value)', () => {
  const issues = issuesOf('{\n  "preset": "tny",\n  "stages": { "dft": { "optimizer": { "lrr": 1 } } },\n  "data": { "source": "wrold" }\n}\n');
  const lrr = issues.find((i) => i.path === 'stages.dft.optimizer.lrr')!;
  assert.ok(lrr.expected.includes('did you mean'), 'the validator puts the hint in expected too (for the CLI line)');
  for (const i of issues) {
    const m = diagnosticMessage(i);
    assert.ok(count(m, 'did you mean') <= 1, m);
  }
  assert.equal(diagnosticMessage(lrr), 'unknown key "lrr" in stages.dft.optimizer (did you mean "lr"?)');
  assert.match(diagnosticMessage(issues.find((i) => i.path === 'preset')!), /^unknown preset "tny" \(did you mean "tiny"\?\); presets: /);
  assert.equal(diagnosticMessage(issues.find((i) => i.path === 'data.source')!), 'data.source: "wrold" is not allowed; allowed values: world, llava (did you mean "world"?)');
  assert.equal(issues.length, 3);
});

test('diagnosticMessage: adds expected and found when the sentence does not say them', () => {
  const issues = issuesOf('{\n  "bogusKey": 1,\n  "seed": "seven"\n}\n');
  const bogus = diagnosticMessage(issues.find((i) => i.path === 'bogusKey')!);
  assert.match(bogus, /^unknown key "bogusKey" \(expected one of the keys preset, name, /);
  assert.doesNotMatch(bogus, /found unknown key/);
  assert.equal(diagnosticMessage(issues.find((i) => i.path === 'seed')!), 'seed must be an integer (expected integer ≥ 0, found "seven" (a string))');
});

test('issuesToShow: syntax errors and duplicate keys are left to the JSON language service when it validates', () => {
  const syntax = issuesOf('{\n  "seed": 1,\n  "name" "x"\n}\n');
  const dup = issuesOf('{\n  "seed": 1,\n  "seed": 2\n}\n');
  const schema = issuesOf('{\n  "seed": -1\n}\n');
  assert.equal(syntax[0].kind, 'syntax');
  assert.equal(dup[0].kind, 'duplicate-key');
  assert.deepEqual(issuesToShow([...syntax, ...dup, ...schema], true), schema);
  assert.deepEqual(issuesToShow([...syntax, ...dup, ...schema], false), [...syntax, ...dup, ...schema]);
});

test('invalidRunMessage: the file once, the first problem with its line, how many more', () => {
  const issues = issuesOf('{\n  "preset": "tiny",\n  "bogusKey": 1,\n  "seed": "seven",\n  "vision": { "dim": "x" }\n}\n');
  assert.equal(issues.length, 3);
  const m = invalidRunMessage('exp-a/kd-experiment.json', issues);
  assert.equal(m, 'exp-a/kd-experiment.json has 3 problems, so nothing was started: line 3: unknown key "bogusKey", and 2 more in Problems.');
  assert.equal(count(m, 'kd-experiment.json'), 1);
  assert.doesNotMatch(m, /\/abs\//);
  assert.equal(invalidRunMessage('kd-experiment.json', issues.slice(1, 2)), 'kd-experiment.json has 1 problem, so nothing was started: line 4: seed must be an integer.');
});

test('experimentLenses: run lenses on a valid file; one problems lens (no run) on an invalid one', () => {
  const valid = experimentLenses(0);
  assert.ok(valid.some((l) => l.command === 'llavaKd.runFullPipeline' && l.title === '$(play) Run Full Pipeline'));
  assert.ok(valid.every((l) => l.withFile));
  for (const n of [1, 2]) {
    const lenses = experimentLenses(n);
    assert.equal(lenses.length, 1);
    assert.equal(lenses[0].command, PROBLEMS_VIEW_COMMAND);
    assert.ok(!lenses.some((l) => l.command.startsWith('llavaKd.')));
  }
  assert.equal(experimentLenses(2)[0].title, '$(error) 2 problems: fix them first');
  assert.equal(experimentLenses(1)[0].title, '$(error) 1 problem: fix it first');
});

test('experimentLenses: Run Sweep only over a file with a sweep section, and never over an invalid one', () => {
  assert.ok(!experimentLenses(0).some((l) => l.command === 'llavaKd.runSweep'));
  const sweep = experimentLenses(0, true);
  assert.deepEqual(sweep.slice(0, 2).map((l) => [l.title, l.command, l.withFile]), [['$(play) Run Full Pipeline', 'llavaKd.runFullPipeline', true], ['$(run-all) Run Sweep', 'llavaKd.runSweep', true]]);
  assert.deepEqual(experimentLenses(3, true).map((l) => l.command), [PROBLEMS_VIEW_COMMAND]);
});
