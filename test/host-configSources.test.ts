// Tests of src/host/core/configSources.ts on real experiment files and run folders in a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configColumn, hyperTarget, readExperimentConfig, readRunConfig } from '../src/host/core/configSources';

const dir = mkdtempSync(join(tmpdir(), 'kd-cfg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('experiment file resolves over its preset; a run config.json is read as is', () => {
  const file = join(dir, 'kd-experiment.json');
  writeFileSync(file, JSON.stringify({ preset: 'default', name: 'x', stages: { dft: { loss: { vis: 0.25 } } } }));
  const r = readExperimentConfig(file);
  assert.equal(r.resolved, true, r.error);
  const col = configColumn(file, 'x');
  assert.equal(col.kind, 'experiment');
  assert.equal(col.values['stages.dft.loss.vis'], 0.25);
  assert.equal(typeof col.values['stages.dft.optimizer.lr'], 'number');
  const t = hyperTarget(file, 'x');
  assert.equal(t.stages.find((s) => s.kind === 'dft')?.loss.vis, 0.25);
  assert.equal(t.divergence, 'forward_kl');

  const run = join(dir, 'runs', 'r1');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'config.json'), JSON.stringify({ stages: { dft: { loss: { vis: 1 } } } }));
  assert.deepEqual(configColumn(run, 'r1').values, { 'stages.dft.loss.vis': 1 });
  assert.match(readRunConfig(join(dir, 'runs', 'nope')).error!, /no config.json/);
});

test('a bad experiment file reports file, line and field', () => {
  const bad = join(dir, 'bad', 'kd-experiment.json');
  mkdirSync(join(dir, 'bad'));
  writeFileSync(bad, '{\n  "preset": "default",\n  "stages": { "dft": { "loss": { "vis": "high" } } }\n}\n');
  const r = readExperimentConfig(bad);
  assert.equal(r.resolved, false);
  assert.match(r.error!, /kd-experiment\.json:3.*stages\.dft\.loss\.vis/);
  const col = configColumn(bad, 'bad');
  assert.equal(col.values['stages.dft.loss.vis'], 'high');
  assert.match(col.error!, /showing the file as written/);
});
