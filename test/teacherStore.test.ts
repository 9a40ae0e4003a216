/**
 * The teacher store (src/trainer/teacher/): the key follows what the teacher depends on and
 * nothing else; entries are verified (a corrupt or partial one is never used); runs through the
 * CLI train the teacher side once and reuse it (miss, hit, corrupt entry retrained, two runs at
 * once: one trains, the other waits and reuses); `teacher list|rm`; and `teacher train`
 * reproduces a stored teacher bit for bit (tiny preset, against the committed fixture).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalLine, MetricsLine, RunStatus } from '../src/common/runFormat';
import { presetConfig } from '../src/trainer/config';
import { dataFingerprint } from '../src/trainer/data/fingerprint';
import { teacherKey, teacherRecipe } from '../src/trainer/teacher/recipe';
import { TeacherStore, verifyEntry, type TeacherManifest } from '../src/trainer/teacher/store';
import { cleanupTmp, explain, readJson, readJsonlStrict, runCli, runDirs, sha256, tmpDir, writeExperiment } from './helpers/cli';

after(cleanupTmp);

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-teacher.json');
/** The tiny preset with the store on (tiny itself trains a teacher per run). */
const EXP = { preset: 'tiny', teacher: { cache: 'reuse' } };
const SIDE = ['vision/vision', 'teacher/pt', 'teacher/sft'];

function manifest(key: string): Omit<TeacherManifest, 'checkpoints' | 'format' | 'formatVersion'> {
  return { key, name: 't', createdAt: new Date().toISOString(), recipe: {}, dataFingerprint: 'x', evals: [], trainedWith: { backend: 'wasm', workers: 1, seconds: 1, node: process.version, stages: [] } };
}

test('teacherKey: changes with what the teacher depends on, not with the students, seeds, logging or threads', () => {
  const base = presetConfig('default');
  const fp = dataFingerprint(base, '/x/kd-experiment.json');
  const k = teacherKey(base, fp);
  assert.match(k, /^[0-9a-f]{24}$/);
  const changed = (f: (c: ReturnType<typeof presetConfig>) => void, data = false): string => {
    const c = presetConfig('default');
    f(c);
    return teacherKey(c, data ? dataFingerprint(c, '/x/kd-experiment.json') : fp);
  };
  // Different teacher.
  for (const f of [
    (c: ReturnType<typeof presetConfig>) => { c.teacher.lm.dim = 96; },
    (c: ReturnType<typeof presetConfig>) => { c.teacher.seed = 1; },
    (c: ReturnType<typeof presetConfig>) => { c.teacher.stages.sft.steps = 10; },
    (c: ReturnType<typeof presetConfig>) => { c.teacher.stages.sft.optimizer.lr = 2e-3; },
    (c: ReturnType<typeof presetConfig>) => { c.vision.depth = 4; },
    (c: ReturnType<typeof presetConfig>) => { c.stages.vision.steps = 10; },
    (c: ReturnType<typeof presetConfig>) => { c.pipeline.teacher = ['sft']; },
    (c: ReturnType<typeof presetConfig>) => { c.data.maxLength = 80; },
  ]) assert.notEqual(changed(f), k);
  // Different data.
  assert.notEqual(changed((c) => { c.data.world.trainImages = 100; }, true), k);
  assert.notEqual(changed((c) => { c.data.world.seed = 4; }, true), k);
  // The same teacher.
  for (const f of [
    (c: ReturnType<typeof presetConfig>) => { c.seed = 9; },
    (c: ReturnType<typeof presetConfig>) => { c.student.lm.dim = 32; },
    (c: ReturnType<typeof presetConfig>) => { c.stages.sft.steps = 7; },
    (c: ReturnType<typeof presetConfig>) => { c.stages.dft.loss.rel = 1; },
    (c: ReturnType<typeof presetConfig>) => { c.teacher.stages.sft.evalEvery = 7; c.teacher.stages.sft.logEvery = 3; },
    (c: ReturnType<typeof presetConfig>) => { c.workers = 1; c.backend = 'cpu'; },
    (c: ReturnType<typeof presetConfig>) => { c.eval.valQuestions = 5; },
    (c: ReturnType<typeof presetConfig>) => { c.pipeline.kd = ['sft']; },
  ]) assert.equal(changed(f), k);
  // LM pre-training counts only when it runs.
  assert.equal(changed((c) => { c.stages.lm.steps = 5; }), k);
  assert.notEqual(changed((c) => { c.teacher.lmPretrain = true; }), k);
  assert.deepEqual(Object.keys(teacherRecipe(base)).sort(), ['data', 'formatVersion', 'lmStage', 'teacher', 'track', 'vision', 'visionStage']);
});

test('store: publish then lookup verifies every checkpoint; corrupt, truncated and partial entries are never used', () => {
  const root = tmpDir('store');
  const pkg = tmpDir('store-pkg');
  const src = path.join(root, '..', `${path.basename(root)}-src.safetensors`);
  fs.writeFileSync(src, Buffer.from('checkpoint bytes'));
  const store = new TeacherStore(root, [pkg]);
  assert.equal(store.lookup('aa'), undefined);
  const e = store.publish(manifest('aa'), { 'teacher-sft': src });
  assert.equal(e.source, 'cache');
  assert.deepEqual(store.lookup('aa')?.manifest.checkpoints.map((c) => c.name), ['teacher-sft']);
  // A flipped byte: reported, removed, a miss.
  const f = path.join(root, 'aa', 'teacher-sft.safetensors');
  const b = fs.readFileSync(f);
  b[0] ^= 1;
  fs.writeFileSync(f, b);
  const logs: string[] = [];
  assert.equal(store.lookup('aa', (m) => logs.push(m)), undefined);
  assert.match(logs.join('\n'), /entry aa is corrupt .*SHA-256/);
  assert.equal(fs.existsSync(path.join(root, 'aa')), false, 'the corrupt entry was removed');
  // A truncated manifest and a missing checkpoint.
  store.publish(manifest('bb'), { 'teacher-sft': src });
  fs.writeFileSync(path.join(root, 'bb', 'manifest.json'), '{"format":"llava-kd-tea');
  assert.match(JSON.stringify(verifyEntry(path.join(root, 'bb'))), /not valid JSON/);
  assert.equal(store.lookup('bb'), undefined);
  store.publish(manifest('cc'), { 'teacher-sft': src });
  fs.rmSync(path.join(root, 'cc', 'teacher-sft.safetensors'));
  assert.match(JSON.stringify(verifyEntry(path.join(root, 'cc'))), /missing/);
  // A partial folder left by a dead writer is cleaned up by list(); a live writer's is shown.
  fs.mkdirSync(path.join(root, '.dd.partial-999999999'));
  fs.mkdirSync(path.join(root, `.ee.partial-${process.pid}`));
  const listed = store.list();
  assert.equal(fs.existsSync(path.join(root, '.dd.partial-999999999')), false);
  assert.deepEqual(listed.map((x) => [x.key, x.state]).sort(), [['cc', 'corrupt'], ['ee', 'partial']]);
  // Packaged roots are read after the cache, verified, and read-only.
  new TeacherStore(pkg).publish(manifest('ff'), { 'teacher-sft': src });
  assert.equal(store.lookup('ff')?.source, 'package');
  assert.equal(store.remove('ff'), false, 'a packaged teacher is not removed');
  assert.equal(fs.existsSync(path.join(pkg, 'ff')), true);
  // A key locked by a live process cannot be removed.
  assert.equal(store.tryLock('cc'), true);
  assert.throws(() => store.remove('cc'), /being trained by process/);
  store.unlock('cc');
  assert.equal(store.remove('cc'), true);
});

/** Runs the tiny pipeline's teacher side (+ the given student stages) with its own store. */
async function run(dir: string, store: string, exp: object, stages = 'teacher-side') {
  const file = writeExperiment(dir, exp);
  const r = await runCli(['run', file, '--json', '--backend', 'wasm', '--stages', stages], { env: { LLAVA_KD_CACHE_DIR: store }, timeoutMs: 240000 });
  assert.equal(r.code, 0, explain(r));
  const runDir = runDirs(dir).sort().pop()!;
  return { r, runDir, status: readJson<RunStatus>(path.join(runDir, 'status.json')) };
}

/** Stages that wrote metrics lines (were trained) in a run; none when it trained nothing. */
const trainedStages = (runDir: string) => {
  const f = path.join(runDir, 'metrics.jsonl');
  return fs.existsSync(f) ? [...new Set(readJsonlStrict<MetricsLine>(f).map((m) => m.stage))] : [];
};

test('runs: a miss trains and stores the teacher; a hit (another seed) reuses it; a corrupt entry is retrained', async () => {
  const cache = tmpDir('store-cache');
  const a = await run(tmpDir('store-a'), cache, EXP);
  assert.equal(a.status.teacherStore?.source, 'trained');
  assert.deepEqual(trainedStages(a.runDir), SIDE);
  const key = a.status.teacherStore!.key;
  const entry = path.join(cache, 'teachers', key);
  assert.equal(a.status.teacherStore!.path, entry);
  assert.deepEqual(readJson<{ teacherStore: unknown }>(path.join(a.runDir, 'config.json')).teacherStore, a.status.teacherStore);
  const m = readJson<TeacherManifest>(path.join(entry, 'manifest.json'));
  assert.deepEqual(m.checkpoints.map((c) => c.name).sort(), ['teacher-sft', 'vision-vision']);
  for (const c of m.checkpoints) assert.equal(c.sha256, sha256(path.join(a.runDir, 'checkpoints', `${c.name}.safetensors`)));
  assert.ok(m.evals.some((e) => e.split === 'test' && e.model === 'teacher'), 'the manifest keeps the teacher\'s test eval');

  // Another student seed, the same teacher: nothing of the teacher side trains, the kd stage distils from the stored one.
  const b = await run(tmpDir('store-b'), cache, { ...EXP, seed: 3 }, 'teacher-side,student/lm,kd/dpt');
  assert.equal(b.status.teacherStore?.source, 'cache');
  assert.equal(b.status.teacherStore?.key, key);
  assert.deepEqual(trainedStages(b.runDir), ['student/lm', 'kd/dpt']);
  assert.deepEqual(b.status.completedStages, [...SIDE, 'student/lm', 'kd/dpt']);
  for (const c of m.checkpoints) assert.equal(sha256(path.join(b.runDir, 'checkpoints', `${c.name}.safetensors`)), c.sha256);
  const evals = readJsonlStrict<EvalLine>(path.join(b.runDir, 'eval.jsonl'));
  const copied = evals.filter((e) => e.teacherStore === key);
  assert.deepEqual(copied.map((e) => `${e.stage}:${e.split}`), m.evals.map((e) => `${e.stage}:${e.split}`));
  assert.equal(b.status.accuracy?.teacher, m.evals.find((e) => e.split === 'test')!.accuracy);
  assert.match(b.r.stderr + b.r.stdout, /reusing teacher/);

  // A flipped byte in the stored teacher: detected, removed, trained again (never used).
  const f = path.join(entry, 'teacher-sft.safetensors');
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 5] ^= 0x40;
  fs.writeFileSync(f, bytes);
  const c = await run(tmpDir('store-c'), cache, EXP);
  assert.equal(c.status.teacherStore?.source, 'trained');
  assert.match(c.r.stdout + c.r.stderr, /is corrupt/);
  assert.equal(sha256(f), m.checkpoints.find((x) => x.name === 'teacher-sft')!.sha256, 'retrained bit for bit');

  // teacher list / rm.
  const list = await runCli(['teacher', 'list', '--json'], { env: { LLAVA_KD_CACHE_DIR: cache } });
  assert.equal(list.code, 0, explain(list));
  const listed = JSON.parse(list.stdout) as { entries: { key: string; state: string; source: string }[] };
  assert.deepEqual(listed.entries.filter((e) => e.source === 'cache').map((e) => [e.key, e.state]), [[key, 'ok']]);
  const rm = await runCli(['teacher', 'rm', key], { env: { LLAVA_KD_CACHE_DIR: cache } });
  assert.equal(rm.code, 0, explain(rm));
  assert.equal(fs.existsSync(entry), false);
  const rm2 = await runCli(['teacher', 'rm', key], { env: { LLAVA_KD_CACHE_DIR: cache } });
  assert.equal(rm2.code, 2);
});

test('runs: two runs needing the same new teacher at once: one trains it, the other waits and reuses it', async () => {
  const cache = tmpDir('store-conc');
  const exp = { ...EXP, teacher: { ...EXP.teacher, seed: 7 } };
  const [a, b] = await Promise.all([run(tmpDir('store-conc-a'), cache, exp), run(tmpDir('store-conc-b'), cache, { ...exp, seed: 1 })]);
  const sources = [a.status.teacherStore?.source, b.status.teacherStore?.source].sort();
  assert.deepEqual(sources, ['cache', 'trained']);
  const waiter = a.status.teacherStore?.source === 'cache' ? a : b;
  assert.deepEqual(trainedStages(waiter.runDir).filter((s) => SIDE.includes(s)), [], 'the waiting run trained nothing of the teacher side');
  for (const name of ['teacher-sft', 'vision-vision']) {
    assert.equal(sha256(path.join(a.runDir, 'checkpoints', `${name}.safetensors`)), sha256(path.join(b.runDir, 'checkpoints', `${name}.safetensors`)));
  }
});

test('teacher train --preset tiny --workers 2 reproduces the committed tiny teacher bit for bit', async () => {
  const store = tmpDir('store-train');
  const r = await runCli(['teacher', 'train', '--preset', 'tiny', '--workers', '2', '--backend', 'wasm', '--store', store], { env: { LLAVA_KD_CACHE_DIR: tmpDir('store-train-cache') }, timeoutMs: 240000 });
  assert.equal(r.code, 0, explain(r));
  const [key] = fs.readdirSync(store).filter((n) => /^[0-9a-f]+$/.test(n));
  const m = readJson<TeacherManifest>(path.join(store, key, 'manifest.json'));
  const got = { key, checkpoints: Object.fromEntries(m.checkpoints.map((c) => [c.name, c.sha256])) };
  if (process.env.UPDATE_FIXTURES) fs.writeFileSync(FIXTURE, JSON.stringify(got, null, 2) + '\n');
  assert.deepEqual(got, readJson(FIXTURE), 'the tiny teacher\'s stored bytes changed: the training numerics changed, or the config schema did (checkpoints embed the resolved config). If on purpose, regenerate the fixture (UPDATE_FIXTURES=1); the shipped default teacher stays valid for its key but is no longer rebuilt byte for byte until npm run teacher:build is rerun');
  // A second `teacher train` is a hit.
  const again = await runCli(['teacher', 'train', '--preset', 'tiny', '--store', store], { env: { LLAVA_KD_CACHE_DIR: tmpDir('store-train-cache2') } });
  assert.equal(again.code, 0, explain(again));
  assert.match(again.stdout, /already stored/);
});
