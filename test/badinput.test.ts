/**
 * Bad input to the built CLI: invalid experiment configs, unknown --stages, --from a folder that
 * is not a run, broken LLaVA data (malformed record, missing image, malformed JSONL line) and
 * bad images (one table row each: truncated, text named .png, paths and links out of the image
 * folder, a decompression bomb) all exit 2 naming the file/record/field and write nothing; `ask`
 * refuses a bomb from its header and `eval` a folder; a truncated or foreign checkpoint given to
 * `eval` is a clear error naming the file; a non-finite loss fails the run (exit 1) naming the
 * stage, step and term, with the metrics written so far intact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { MetricsLine, RunStatus } from '../src/common/runFormat';
import { presetConfig } from '../src/trainer/config';
import { generateWorld, KdTokenizer } from '../src/trainer/data';
import { Mllm } from '../src/trainer/models/mllm';
import { VisionEncoder } from '../src/trainer/models/vision';
import { loadCheckpoint, saveCheckpoint } from '../src/trainer/io/checkpoint';
import { cleanupTmp, explain, readJson, readJsonlStrict, runCli, runDirs, tmpDir, writeExperiment } from './helpers/cli';

let dataDir: string;
let worldDir: string;

before(() => {
  dataDir = tmpDir('badinput-data');
  worldDir = path.join(dataDir, 'world');
  const cfg = presetConfig('tiny');
  generateWorld(cfg.data.world, worldDir, { extraTexts: [cfg.data.systemPrompt] });
});
after(cleanupTmp);

/** A fresh experiment folder holding only kd-experiment.json. */
function experiment(exp: unknown): { dir: string; file: string } {
  const dir = tmpDir('badinput');
  return { dir, file: writeExperiment(dir, exp) };
}

function assertNothingWritten(dir: string): void {
  assert.deepEqual(fs.readdirSync(dir), ['kd-experiment.json'], `files were written to ${dir}`);
}

// ------------------------------------------------------------------------------ configs and flags

test('unknown config key: exit 2, message names the JSON path, line and a suggestion; nothing written', async () => {
  const { dir, file } = experiment({ preset: 'tiny', stages: { sft: { optimizer: { lrr: 0.1 } } } });
  const r = await runCli(['run', file, '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  assert.match(r.stderr, /stages\.sft\.optimizer\.lrr/);
  assert.match(r.stderr, /did you mean "lr"\?/);
  assert.ok(r.stderr.includes(`${file}:`), 'message names the file');
  assert.equal(r.stdout, '');
  assertNothingWritten(dir);
});

test('wrong type (--json): exit 2, one error event naming the field and the expected type; nothing written', async () => {
  const { dir, file } = experiment({ preset: 'tiny', seed: 'abc' });
  const r = await runCli(['run', file, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  assert.equal(r.lines.length, 1, r.stdout);
  const e = JSON.parse(r.lines[0]) as { event: string; message: string };
  assert.equal(e.event, 'error');
  assert.match(e.message, /seed: expected integer/);
  assert.match(e.message, /"abc" \(a string\)/);
  assertNothingWritten(dir);
});

test('bad preset: exit 2 with the list of presets and a suggestion; nothing written', async () => {
  const { dir, file } = experiment({ preset: 'tinyy' });
  const r = await runCli(['run', file, '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  assert.match(r.stderr, /preset: expected one of .*"tiny"/);
  assert.match(r.stderr, /did you mean "tiny"\?/);
  assertNothingWritten(dir);
});

test('--stages nonsense and --from a non-run folder: exit 2, nothing written', async () => {
  const { dir, file } = experiment({ preset: 'tiny', data: { worldDir } });
  const s = await runCli(['run', file, '--backend', 'wasm', '--stages', 'kd/dft,nonsense']);
  assert.equal(s.code, 2, explain(s));
  assert.match(s.stderr, /--stages: unknown stage 'nonsense'/);
  assert.match(s.stderr, /vision\/vision, teacher\/pt/);
  const notRun = tmpDir('badinput-notrun');
  fs.writeFileSync(path.join(notRun, 'status.json'), '{}');
  const f = await runCli(['run', file, '--backend', 'wasm', '--stages', 'kd', '--from', notRun]);
  assert.equal(f.code, 2, explain(f));
  assert.ok(f.stderr.includes(`--from ${notRun}: not a run folder`), f.stderr);
  assertNothingWritten(dir);
});

// ------------------------------------------------------------------------------ LLaVA data

/** A llava-source experiment over the generated world's files, with some files replaced. */
function llavaExperiment(replace: Partial<Record<'captions' | 'instructions' | 'val' | 'test', string>>): { dir: string; file: string } {
  return experiment({
    preset: 'tiny',
    data: {
      source: 'llava',
      captions: replace.captions ?? path.join(worldDir, 'captions.json'),
      instructions: replace.instructions ?? path.join(worldDir, 'instruct.json'),
      val: replace.val ?? path.join(worldDir, 'val.json'),
      test: replace.test ?? path.join(worldDir, 'test.json'),
      imageFolder: worldDir,
      tokenizer: path.join(worldDir, 'tokenizer.json'),
    },
  });
}

const records = (name: string) => JSON.parse(fs.readFileSync(path.join(worldDir, name), 'utf8')) as Record<string, unknown>[];

test('llava data, malformed record: exit 2 naming file, record and field; no run folder', async () => {
  const recs = records('val.json');
  recs[3] = { ...recs[3], conversations: 'oops' };
  const bad = path.join(dataDir, 'bad-val.json');
  fs.writeFileSync(bad, JSON.stringify(recs, null, 1));
  const { dir, file } = llavaExperiment({ val: bad });
  const r = await runCli(['run', file, '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  assert.ok(r.stderr.includes(`${bad}: record 3: conversations must be an array`), r.stderr);
  assertNothingWritten(dir);
});

test('llava data, missing image: exit 2 naming file, record, id and the image; no run folder', async () => {
  const recs = records('test.json');
  recs[2] = { ...recs[2], image: 'images/test/nope.png' };
  const bad = path.join(dataDir, 'bad-test.json');
  fs.writeFileSync(bad, JSON.stringify(recs));
  const { dir, file } = llavaExperiment({ test: bad });
  const r = await runCli(['run', file, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  const err = r.lines.map((l) => JSON.parse(l) as { event: string; message?: string }).filter((e) => e.event === 'error');
  assert.equal(err.length, 1);
  assert.ok(err[0].message!.startsWith(`${bad}: record 2 (id ${String(recs[2].id)}), field "image" ("images/test/nope.png"): not found`), err[0].message);
  assertNothingWritten(dir);
});

/** A PNG of only a signature and an IHDR chunk declaring width × height (no pixel data). */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const chunk = (type: string, data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

// One row per bad image of the campaign: each exits 2 before anything is written, naming the data
// file, the record, the field and what is wrong.
const BAD_IMAGES: { name: string; image: (folder: string) => string; expect: RegExp }[] = [
  { name: 'a truncated PNG (the first 20 bytes)', image: (f) => { const p = path.join(f, 'images', 'bad-trunc.png'); fs.writeFileSync(p, fs.readFileSync(path.join(f, 'images', 'test', fs.readdirSync(path.join(f, 'images', 'test'))[0])).subarray(0, 20)); return 'images/bad-trunc.png'; }, expect: /truncated or corrupt PNG/ },
  { name: 'a PNG cut after its header (the pixel data truncated)', image: (f) => { const p = path.join(f, 'images', 'bad-body.png'); fs.writeFileSync(p, fs.readFileSync(path.join(f, 'images', 'test', fs.readdirSync(path.join(f, 'images', 'test'))[0])).subarray(0, 60)); return 'images/bad-body.png'; }, expect: /corrupt or unsupported PNG image/ },
  { name: 'a text file named .png', image: (f) => { fs.writeFileSync(path.join(f, 'images', 'bad-text.png'), 'hello, I am text\n'); return 'images/bad-text.png'; }, expect: /not a PNG or JPEG image \(unrecognised file signature\)/ },
  { name: 'a path out of the image folder', image: () => '../../../../../../../../etc/passwd', expect: /outside the image folder/ },
  { name: 'a link out of the image folder (to a valid PNG)', image: (f) => { const out = path.join(dataDir, 'outside.png'); fs.copyFileSync(path.join(f, 'images', 'test', fs.readdirSync(path.join(f, 'images', 'test'))[0]), out); const l = path.join(f, 'images', 'bad-link.png'); if (!fs.existsSync(l)) fs.symlinkSync(out, l); return 'images/bad-link.png'; }, expect: /resolves to .*outside\.png, outside the image folder/ },
  { name: 'a 45-byte PNG claiming 20000 × 20000 (decompression bomb)', image: (f) => { fs.writeFileSync(path.join(f, 'images', 'bad-bomb.png'), pngHeaderOnly(20000, 20000)); return 'images/bad-bomb.png'; }, expect: /declares 20000 × 20000 = 400\.0 M pixels, above the limit of 36\.0 M \(data\.maxImagePixels\); refused before decoding/ },
];

for (const c of BAD_IMAGES) {
  test(`llava data, ${c.name}: exit 2 naming file, record, field and the defect; no run folder`, async () => {
    const recs = records('test.json');
    const img = c.image(worldDir);
    recs[0] = { ...recs[0], image: img };
    const bad = path.join(dataDir, `bad-image-${BAD_IMAGES.indexOf(c)}.json`);
    fs.writeFileSync(bad, JSON.stringify(recs));
    const { dir, file } = llavaExperiment({ test: bad });
    const t0 = Date.now();
    const r = await runCli(['run', file, '--backend', 'wasm']);
    assert.equal(r.code, 2, explain(r));
    assert.ok(r.stderr.includes(`${bad}: record 0 (id ${String(recs[0].id)}), field "image" ("${img}")`), r.stderr);
    assert.match(r.stderr, c.expect);
    assert.ok(Date.now() - t0 < 60000);
    assertNothingWritten(dir);
  });
}

test('ask with a decompression bomb and eval of a folder: exit 2 with a named message, no allocation of the claimed size', async () => {
  const bomb = path.join(dataDir, 'bomb.png');
  fs.writeFileSync(bomb, pngHeaderOnly(20000, 20000));
  const { file } = experiment({ preset: 'tiny', data: { worldDir } });
  const run = await runCli(['run', file, '--backend', 'wasm', '--stages', 'pretrain,teacher']);
  assert.equal(run.code, 0, explain(run));
  const ckpt = path.join(runDirs(path.dirname(file))[0], 'checkpoints', 'teacher-sft.safetensors');
  const t0 = Date.now();
  const a = await runCli(['ask', ckpt, '--image', bomb, '--question', 'what colour?', '--backend', 'wasm']);
  assert.equal(a.code, 2, explain(a));
  assert.match(a.stderr, /--image: .*bomb\.png: PNG header declares 20000 × 20000/);
  assert.ok(Date.now() - t0 < 30000, 'refused from the header, not after decoding');
  const e = await runCli(['eval', ckpt, '--data', dataDir, '--backend', 'wasm']);
  assert.equal(e.code, 2, explain(e));
  assert.match(e.stderr, /is a folder \(expected a LLaVA JSON\/JSONL file\)/);
});

test('llava data, malformed JSONL line: exit 2 naming file and line; no run folder', async () => {
  const lines = records('instruct.json').map((r) => JSON.stringify(r));
  lines[2] = '{"id": "broken", "conversations": [';
  const bad = path.join(dataDir, 'bad-instruct.jsonl');
  fs.writeFileSync(bad, lines.join('\n') + '\n');
  const { dir, file } = llavaExperiment({ instructions: bad });
  const r = await runCli(['run', file, '--backend', 'wasm']);
  assert.equal(r.code, 2, explain(r));
  assert.ok(r.stderr.includes(`${bad}: line 3 (record 2): invalid JSON`), r.stderr);
  assertNothingWritten(dir);
});

// ------------------------------------------------------------------------------ checkpoints

test('eval: a truncated or foreign checkpoint is a clear error naming the file (exit 2); the intact one evaluates', async () => {
  await tf.setBackend('cpu');
  const cfg = presetConfig('tiny');
  cfg.data.worldDir = 'world';
  const vocab = KdTokenizer.fromFile(path.join(worldDir, 'tokenizer.json')).vocabSize;
  const vision = new VisionEncoder(cfg.vision, 1);
  const model = new Mllm(cfg.student, cfg.vision.dim, vocab, 2);
  const good = path.join(dataDir, 'kd-dft.safetensors');
  saveCheckpoint(good, { ...vision.params.export('vision.'), ...model.params.export() }, { kind: 'final', stage: 'kd/dft', step: 0, track: 'kd', config: cfg, experimentFile: path.join(dataDir, 'kd-experiment.json') });
  vision.params.dispose();
  model.dispose();
  const valFile = path.join(worldDir, 'val.json');

  const ok = await runCli(['eval', good, '--data', valFile, '--json', '--backend', 'wasm']);
  assert.equal(ok.code, 0, explain(ok));
  const res = JSON.parse(ok.lines[0]) as { n: number; accuracy: number };
  assert.equal(res.n, records('val.json').length);
  assert.ok(res.accuracy >= 0 && res.accuracy <= 1);

  const bytes = fs.readFileSync(good);
  const truncated = path.join(dataDir, 'truncated.safetensors');
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const t = await runCli(['eval', truncated, '--data', valFile, '--backend', 'wasm']);
  assert.equal(t.code, 2, explain(t));
  assert.ok(t.stderr.includes(truncated), `message does not name the file: ${t.stderr}`);
  assert.match(t.stderr, /truncated/);

  const foreign = path.join(dataDir, 'foreign.safetensors');
  fs.writeFileSync(foreign, 'this is not a safetensors file at all');
  const f = await runCli(['eval', foreign, '--data', valFile, '--json', '--backend', 'wasm']);
  assert.equal(f.code, 2, explain(f));
  const fe = JSON.parse(f.lines[f.lines.length - 1]) as { event: string; message: string };
  assert.equal(fe.event, 'error');
  assert.ok(fe.message.includes(foreign), fe.message);
});

test('--from a checkpoint of other sizes or with an int tensor: exit 2 before the run folder, naming the file and the tensor', async () => {
  await tf.setBackend('cpu');
  const cfg = presetConfig('tiny');
  const vocab = KdTokenizer.fromFile(path.join(worldDir, 'tokenizer.json')).vocabSize;
  const meta = (stage: string, track: 'vision' | 'teacher' | 'student') => ({ kind: 'final' as const, stage, step: 0, track, config: cfg, experimentFile: path.join(dataDir, 'kd-experiment.json') });
  const fake = (name: string, mutate: (t: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }>) => void) => {
    const run = path.join(tmpDir('badinput-from'), 'runs', 'r1');
    fs.mkdirSync(path.join(run, 'checkpoints'), { recursive: true });
    const vision = new VisionEncoder(cfg.vision, 1);
    const teacher = new Mllm(cfg.teacher, cfg.vision.dim, vocab, 2);
    const student = new Mllm(cfg.student, cfg.vision.dim, vocab, 3);
    saveCheckpoint(path.join(run, 'checkpoints', 'vision-vision.safetensors'), vision.params.export('vision.'), meta('vision/vision', 'vision'));
    saveCheckpoint(path.join(run, 'checkpoints', 'teacher-sft.safetensors'), { ...vision.params.export('vision.'), ...teacher.params.export() }, meta('teacher/sft', 'teacher'));
    const st = { ...vision.params.export('vision.'), ...student.params.export() } as Parameters<typeof mutate>[0];
    mutate(st);
    saveCheckpoint(path.join(run, 'checkpoints', `${name}.safetensors`), st, meta('student/lm', 'student'));
    vision.params.dispose();
    teacher.dispose();
    student.dispose();
    return run;
  };
  const wide = fake('student-lm', (t) => { t['lm.norm'] = { dtype: 'F32', shape: [cfg.student.lm.dim + 8], data: new Float32Array(cfg.student.lm.dim + 8) }; });
  const ints = fake('student-lm', (t) => { const x = t['lm.embed']; t['lm.embed'] = { dtype: 'I32', shape: x.shape, data: new Int32Array(x.data.length) }; });
  for (const [run, expect] of [[wide, /student-lm\.safetensors: tensor 'lm\.norm' has shape \[\d+\], expected \[\d+\] \(the student sizes in the config differ/], [ints, /student-lm\.safetensors: tensor 'lm\.embed' has dtype I32, expected a float/]] as const) {
    const { dir, file } = experiment({ preset: 'tiny', data: { worldDir } });
    const r = await runCli(['run', file, '--backend', 'wasm', '--stages', 'kd', '--from', run]);
    assert.equal(r.code, 2, explain(r));
    assert.ok(r.stderr.includes(path.join(run, 'checkpoints', 'student-lm.safetensors')), r.stderr);
    assert.match(r.stderr, expect);
    assertNothingWritten(dir);
  }
  // A --from folder without the checkpoint a stage needs: named before anything is written too.
  const empty = path.join(tmpDir('badinput-from'), 'runs', 'r2');
  fs.mkdirSync(path.join(empty, 'checkpoints'), { recursive: true });
  const { dir, file } = experiment({ preset: 'tiny', data: { worldDir } });
  const r = await runCli(['run', file, '--backend', 'wasm', '--stages', 'kd', '--from', empty]);
  assert.equal(r.code, 2, explain(r));
  assert.match(r.stderr, /stage kd\/dpt needs checkpoint '(student-lm|teacher-sft|vision-vision)\.safetensors', found in none of the --from folders/);
  assertNothingWritten(dir);
});

test('named messages instead of raw ones: resume of a damaged or incomplete status.json, a tokenizer of the wrong structure', async () => {
  const run = path.join(tmpDir('badinput-status'), 'runs', 'r1');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify(presetConfig('tiny')));
  fs.writeFileSync(path.join(run, 'status.json'), '{"runId": "r1", "state": "stop');
  const a = await runCli(['resume', run]);
  assert.equal(a.code, 2, explain(a));
  assert.match(a.stderr, /status\.json: not valid JSON \(.*\): the run's status file is damaged; its checkpoints and metrics are untouched/);
  fs.writeFileSync(path.join(run, 'status.json'), JSON.stringify({ runId: 'r1', experiment: '/x/kd-experiment.json', state: 'stopped', completedStages: [] }));
  const b = await runCli(['resume', run]);
  assert.equal(b.code, 2, explain(b));
  assert.match(b.stderr, /status\.json: field "stages" must be an array of stage ids, found nothing/);
  const tok = path.join(dataDir, 'bad-tokenizer.json');
  fs.writeFileSync(tok, JSON.stringify({ model: { type: 'WordPiece', unk_token: '[UNK]' } }));
  const { dir, file } = experiment({ preset: 'tiny', data: { source: 'llava', captions: path.join(worldDir, 'captions.json'), instructions: path.join(worldDir, 'instruct.json'), val: path.join(worldDir, 'val.json'), test: path.join(worldDir, 'test.json'), imageFolder: worldDir, tokenizer: tok } });
  const c = await runCli(['run', file, '--backend', 'wasm']);
  assert.equal(c.code, 2, explain(c));
  assert.ok(c.stderr.includes(`${tok}: tokenizer field "model.vocab" must be an object mapping each token to its id, found nothing`), c.stderr);
  assertNothingWritten(dir);
});

// ------------------------------------------------------------------------------ non-finite loss

test('diverging update with a finite loss (vision lr 1e6, a checkpoint every step): no non-finite checkpoint is written, the last finite one is kept and named', async () => {
  const { dir, file } = experiment({ preset: 'tiny', data: { worldDir }, stages: { vision: { optimizer: { lr: 1e6 }, checkpointEvery: 1, steps: 10 } } });
  const r = await runCli(['run', file, '--json', '--backend', 'wasm', '--stages', 'vision/vision']);
  assert.equal(r.code, 1, explain(r));
  const [runDir] = runDirs(dir);
  const st = readJson<RunStatus>(path.join(runDir, 'status.json'));
  assert.equal(st.state, 'failed');
  const resume = path.join(runDir, 'checkpoints', 'resume.safetensors');
  const m = /non-finite weights at stage vision\/vision step (\d+): '([^']+)' holds (\d+) of \d+ non-finite values/.exec(st.error ?? '');
  if (m) {
    // The guard fired: the checkpoint of that step was refused; the one before it (if any) is finite and named.
    const kept = /resume\.safetensors, vision\/vision step (\d+)\) is kept/.exec(st.error!);
    if (kept) {
      assert.equal(Number(kept[1]), Number(m[1]) - 1);
      assert.equal(loadCheckpoint(resume).meta.step, Number(kept[1]));
    } else assert.match(st.error!, /no resumable checkpoint of vision\/vision was written before/);
  } else {
    // Else the loss check caught it first; either way no checkpoint may hold a non-finite value.
    assert.match(st.error ?? '', /non-finite loss at stage vision\/vision/);
  }
  if (fs.existsSync(resume)) {
    const ck = loadCheckpoint(resume);
    for (const [n, t] of Object.entries(ck.tensors)) assert.ok(Array.from(t.data as Float32Array).every(Number.isFinite), `${n} in resume.safetensors is finite`);
  }
  assert.ok(m, `the update guard should fire before the loss check at lr 1e6: ${st.error}`);
});

test('non-finite loss (lr 1e30): run fails (exit 1) naming stage, step and term; metrics so far intact', async () => {
  const { dir, file } = experiment({ preset: 'tiny', data: { worldDir }, stages: { vision: { optimizer: { lr: 1e30 } } } });
  const r = await runCli(['run', file, '--json', '--backend', 'wasm', '--stages', 'vision/vision']);
  assert.equal(r.code, 1, explain(r));
  const [runDir] = runDirs(dir);
  const st = readJson<RunStatus>(path.join(runDir, 'status.json'));
  assert.equal(st.state, 'failed');
  // Step 1 runs on the initial weights; its 1e30-sized update makes step 2's loss NaN.
  assert.match(st.error ?? '', /stage vision\/vision step 2: term 'task' = NaN/);
  assert.ok(st.endedAt);
  assert.deepEqual(st.completedStages, []);
  const metrics = readJsonlStrict<MetricsLine>(path.join(runDir, 'metrics.jsonl'));
  assert.deepEqual(metrics.map((m) => [m.stage, m.step]), [['vision/vision', 1]]);
  assert.ok(Number.isFinite(metrics[0].loss.total) && metrics[0].loss.total > 0);
  assert.equal(metrics[0].lr, 1e30);
  const events = r.lines.map((l) => JSON.parse(l) as { event: string; message?: string; runDir?: string });
  const last = events[events.length - 1];
  assert.equal(last.event, 'error');
  assert.equal(last.runDir, runDir);
  assert.equal(last.message, st.error);
  assert.equal(events.filter((e) => e.event === 'finished').length, 0);
  assert.ok(!fs.existsSync(path.join(runDir, 'checkpoints', 'vision-vision.safetensors')), 'no final checkpoint for a failed stage');
});
