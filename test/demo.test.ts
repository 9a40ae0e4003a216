/**
 * `demo`: the majority-answer baseline and the verdict line (pure), and a tiny demo end to end:
 * the control run (CE only, PT → SFT as long as SFT + DFT, from the main run) exists, completes,
 * and the printed table and verdict carry it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { majorityBaseline, verdict } from '../src/trainer/cli/demo';
import { cleanupTmp, explain, readJson, runCli, runDirs, tmpDir } from './helpers/cli';
import type { RunStatus } from '../src/common/runFormat';

after(cleanupTmp);

const rec = (type: string, answer: string) => ({ type, conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: answer }] });

test('majorityBaseline: the most frequent answer per type (normalised), and overall', () => {
  const m = majorityBaseline([rec('exist', 'yes'), rec('exist', 'Yes.'), rec('exist', 'no'), rec('color', 'red'), rec('color', 'blue')]);
  assert.deepEqual(m.byType, { exist: 2 / 3, color: 1 / 2 });
  assert.equal(m.overall, 3 / 5);
});

test('verdict: KD − baseline and KD − control together, the seed caveat and the multi-seed command', () => {
  const v = verdict({ teacher: 0.9, baseline: 0.5, control: 0.62, kd: 0.6 });
  assert.match(v, /LLaVA-KD − baseline: \+10\.0 points; LLaVA-KD − control \(CE only, same student steps\): -2\.0 points; teacher − baseline: \+40\.0 points\./);
  assert.match(v, /not better than the control/);
  assert.match(v, /One seed is one seed.*npm run bench:kd/);
  assert.doesNotMatch(verdict({ baseline: 0.5, control: 0.55, kd: 0.6 }), /not better than the control/);
});

test('demo (tiny): main run, then the control from its checkpoints; the table and verdict carry both', { timeout: 300_000 }, async () => {
  const dir = tmpDir('demo');
  const r = await runCli(['demo', '--dir', dir, '--preset', 'tiny'], { timeoutMs: 280_000 });
  assert.equal(r.code, 0, explain(r));
  const [main] = runDirs(dir);
  const [control] = runDirs(path.join(dir, 'control'));
  assert.ok(main && control, 'a main and a control run folder');
  const st = readJson<RunStatus>(path.join(control, 'status.json'));
  assert.equal(st.state, 'completed');
  assert.deepEqual(st.stages, ['kd/pt', 'kd/sft']);
  assert.equal(st.from, main);
  const cfg = readJson<{ stages: { sft: { steps: number }; dft: { steps: number } } }>(path.join(control, 'config.json'));
  assert.equal(cfg.stages.sft.steps, 20, 'tiny: SFT 10 + DFT 10 steps');
  for (const row of ['| teacher |', '| baseline |', '| kd |', '| control |', '| majority answer per type |']) assert.ok(r.stdout.includes(row), `table row ${row}\n${r.stdout}`);
  assert.match(r.stdout, /LLaVA-KD − baseline: [+-]\d+\.\d points; LLaVA-KD − control \(CE only, same student steps\): [+-]\d+\.\d points/);
  assert.doesNotMatch(r.stdout, /gap closed/);
  if (os.availableParallelism() >= 2) {
    // Two cores: the control is started beside the main run, once the checkpoints it starts from
    // exist (whether it overlaps the main run's end is timing: the tiny main run may be done by then).
    assert.match(r.stderr, /\[demo\] control run started beside the main run/);
    const needed = fs.statSync(path.join(main, 'checkpoints', 'student-lm.safetensors')).mtimeMs;
    assert.ok(Date.parse(st.startedAt) >= Math.floor(needed), `control started ${st.startedAt}, before student-lm was written (${new Date(needed).toISOString()})`);
    assert.ok(fs.statSync(path.join(dir, 'control', 'control.log')).size > 0);
  }
});
