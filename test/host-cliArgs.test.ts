// Tests of src/host/core/cliArgs.ts: the exact argument lists of the trainer CLI and the child env.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGE_SETS, actionTitle, buildCliArgs, trainerEnv } from '../src/host/core/cliArgs';

test('distilled fine-tuning from a run', () => {
  assert.deepEqual(buildCliArgs({ kind: 'run', experimentFile: '/w/e/kd-experiment.json', stages: STAGE_SETS.dft, from: '/w/e/runs/r1', backend: 'auto' }), [
    'run', '/w/e/kd-experiment.json', '--stages', 'kd/dft', '--from', '/w/e/runs/r1', '--json',
  ]);
});

test('teacher stages and an explicit backend', () => {
  assert.deepEqual(buildCliArgs({ kind: 'run', experimentFile: 'x.json', stages: STAGE_SETS.teacher, backend: 'tensorflow-gpu' }), [
    'run', 'x.json', '--stages', 'teacher-side', '--backend', 'tensorflow-gpu', '--json',
  ]);
});

test('full pipeline, resume, init', () => {
  assert.deepEqual(buildCliArgs({ kind: 'run', experimentFile: 'x.json' }), ['run', 'x.json', '--json']);
  assert.deepEqual(buildCliArgs({ kind: 'resume', runDir: '/r' }), ['resume', '/r', '--json']);
  assert.deepEqual(buildCliArgs({ kind: 'init', dir: '/w/new', preset: 'tiny' }), ['init', '/w/new', '--preset', 'tiny']);
  assert.deepEqual(buildCliArgs({ kind: 'validate', experimentFile: 'x.json' }), ['validate', 'x.json', '--json']);
});

test('sweep and sweep-cancel', () => {
  assert.deepEqual(buildCliArgs({ kind: 'sweep', experimentFile: '/w/e/kd-experiment.json', engine: 'slurm' }), ['sweep', '/w/e/kd-experiment.json', '--engine', 'slurm', '--json']);
  assert.deepEqual(buildCliArgs({ kind: 'sweep', experimentFile: 'x.json', engine: 'local', parallel: 3 }), ['sweep', 'x.json', '--engine', 'local', '--parallel', '3', '--json']);
  assert.deepEqual(buildCliArgs({ kind: 'sweep-cancel', sweepDir: '/w/e/sweeps/s' }), ['sweep-cancel', '/w/e/sweeps/s', '--json']);
  assert.equal(actionTitle({ kind: 'sweep', experimentFile: 'x.json', engine: 'slurm' }), 'Sweep (slurm)');
});

test('trainerEnv sets ELECTRON_RUN_AS_NODE and the native path', () => {
  const env = trainerEnv({ PATH: '/bin', LLAVA_KD_NATIVE_PATH: '/old' }, '/store/native');
  assert.equal(env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(env.LLAVA_KD_NATIVE_PATH, '/store/native');
  assert.equal(env.PATH, '/bin');
  assert.equal(trainerEnv({ LLAVA_KD_NATIVE_PATH: '/old' }, undefined).LLAVA_KD_NATIVE_PATH, undefined);
  // The cache folder: the extension's storage, unless the user set LLAVA_KD_CACHE_DIR.
  assert.equal(trainerEnv({}, undefined, '/store/cache').LLAVA_KD_CACHE_DIR, '/store/cache');
  assert.equal(trainerEnv({ LLAVA_KD_CACHE_DIR: '/mine' }, undefined, '/store/cache').LLAVA_KD_CACHE_DIR, '/mine');
});

test('actionTitle names the stage sets', () => {
  assert.equal(actionTitle({ kind: 'run', experimentFile: 'x', stages: STAGE_SETS.dft }), 'Distilled fine-tuning (kd/dft)');
  assert.equal(actionTitle({ kind: 'run', experimentFile: 'x' }), 'Full pipeline');
  assert.equal(actionTitle({ kind: 'run', experimentFile: 'x', stages: ['kd/sft', 'kd/dft'] }), 'Stages kd/sft,kd/dft');
  // A resumed run is titled after what it trains (#9: a full pipeline's last toast said "Resume (...) finished").
  const plan = ['vision/vision', 'teacher/pt', 'teacher/sft', 'kd/dpt', 'kd/sft', 'kd/dft'];
  assert.equal(actionTitle({ kind: 'resume', runDir: 'r', stages: plan, plan }), 'Full pipeline, resumed');
  assert.equal(actionTitle({ kind: 'resume', runDir: 'r', stages: ['kd/dft'], plan }), 'Distilled fine-tuning (kd/dft), resumed');
  assert.equal(actionTitle({ kind: 'resume', runDir: 'r' }), 'Resume');
});

test('backend names: the extension setting offers exactly the trainer\'s list (one definition: BACKEND_NAMES)', async () => {
  const { BACKEND_NAMES } = await import('../src/trainer/config/types');
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', `file://${__filename}`), 'utf8')) as { contributes: { configuration: { properties: Record<string, { enum?: string[]; enumDescriptions?: string[] }> } } };
  const setting = pkg.contributes.configuration.properties['llavaKd.backend'];
  assert.deepEqual(setting.enum, [...BACKEND_NAMES]);
  assert.equal(setting.enumDescriptions?.length, BACKEND_NAMES.length);
});
