// run-meta.json on real files in a temp folder: src/common/runMeta.ts (tag rules, validation, a
// reader that reports a bad file instead of throwing), src/host/core/runMetaWriter.ts (merge, atomic
// replace, a bad file left alone), and the trainer's resume clean-up leaving the file in place.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunStatus } from '../src/common/runFormat';
import { RUN_META_FILE, parseTagInput, readRunMeta, validateRunMeta } from '../src/common/runMeta';
import { isProcessAlive } from '../src/common/runReader';
import { writeRunMeta } from '../src/host/core/runMetaWriter';
import { writeFileAtomic as writeTextAtomic } from '../src/common/atomic';
import { readRunSummary } from '../src/host/core/runSummaries';
import { removeStaleTemps } from '../src/common/atomic';
import { RunWriter } from '../src/trainer/io/runDir';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-meta-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh run folder `<root>/eN/runs/r`. */
const runDir = (): string => {
  const d = path.join(root, `e${n++}`, 'runs', 'r');
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const metaFile = (d: string): string => path.join(d, RUN_META_FILE);

test('parseTagInput: commas, spaces trimmed, duplicates dropped; blank is no tags; empty or bad tags are errors', () => {
  assert.deepEqual(parseTagInput(' baseline, gamma-0.25 ,cfg:a/b,baseline'), { ok: true, value: ['baseline', 'gamma-0.25', 'cfg:a/b'] });
  assert.deepEqual(parseTagInput('   '), { ok: true, value: [] });
  const empty = parseTagInput('a,,b');
  assert.equal(empty.ok, false);
  assert.match(!empty.ok ? empty.error : '', /empty tag/);
  assert.equal(parseTagInput('a,').ok, false, 'a trailing comma leaves an empty tag');
  const space = parseTagInput('two words');
  assert.match(!space.ok ? space.error : '', /may hold only letters, digits/);
  assert.equal(parseTagInput('x'.repeat(40)).ok, true, '40 characters is allowed');
  const long = parseTagInput('x'.repeat(41));
  assert.match(!long.ok ? long.error : '', /41 characters long \(at most 40\)/);
  assert.equal(parseTagInput('#hash').ok, false);
});

test('validateRunMeta: types checked, blank fields dropped, unknown keys ignored', () => {
  assert.deepEqual(validateRunMeta({ name: ' A ', tags: ['x', 'x'], note: '', extra: 1 }), { ok: true, value: { name: 'A', tags: ['x'] } });
  assert.equal(validateRunMeta([]).ok, false);
  assert.equal(validateRunMeta({ name: 3 }).ok, false);
  assert.equal(validateRunMeta({ tags: 'a' }).ok, false);
  assert.equal(validateRunMeta({ tags: ['ok', 'not ok'] }).ok, false);
  assert.equal(validateRunMeta({ note: {} }).ok, false);
});

test('readRunMeta: missing is no annotations; malformed is reported, never thrown', () => {
  const d = runDir();
  assert.deepEqual(readRunMeta(d), { meta: {} });
  fs.writeFileSync(metaFile(d), '{"name": "half');
  const bad = readRunMeta(d);
  assert.deepEqual(bad.meta, {});
  assert.match(bad.error ?? '', /run-meta\.json is not valid JSON/);
  fs.writeFileSync(metaFile(d), '{"tags": [1]}');
  assert.match(readRunMeta(d).error ?? '', /"tags" must be an array of strings/);
  fs.writeFileSync(metaFile(d), '\ufeff{"name": "bom", "tags": ["t"], "note": "n"}');
  assert.deepEqual(readRunMeta(d), { meta: { name: 'bom', tags: ['t'], note: 'n' } });
});

test('readRunSummary: a run with a malformed run-meta.json keeps its id and says why', () => {
  const d = runDir();
  fs.writeFileSync(metaFile(d), 'not json');
  const s = readRunSummary(d);
  assert.equal(s.runId, 'r');
  assert.deepEqual(s.meta, {});
  assert.match(s.metaError ?? '', /not valid JSON/);
});

test('writeRunMeta: sets and clears one field at a time, keeps the others and unknown keys, leaves no temp file', () => {
  const d = runDir();
  assert.deepEqual(writeRunMeta(d, { name: '  gamma 0.25 ' }), { name: 'gamma 0.25' });
  assert.deepEqual(writeRunMeta(d, { tags: ['baseline', 'g:0.25'] }), { name: 'gamma 0.25', tags: ['baseline', 'g:0.25'] });
  assert.deepEqual(writeRunMeta(d, { note: 'lr too high' }), { name: 'gamma 0.25', tags: ['baseline', 'g:0.25'], note: 'lr too high' });
  assert.deepEqual(JSON.parse(fs.readFileSync(metaFile(d), 'utf8')), { name: 'gamma 0.25', tags: ['baseline', 'g:0.25'], note: 'lr too high' });
  // Someone added a key by hand: kept.
  const raw = JSON.parse(fs.readFileSync(metaFile(d), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(metaFile(d), JSON.stringify({ ...raw, colour: 'red' }));
  assert.deepEqual(writeRunMeta(d, { name: '' }), { tags: ['baseline', 'g:0.25'], note: 'lr too high' });
  assert.deepEqual(writeRunMeta(d, { tags: [] }), { note: 'lr too high' });
  assert.deepEqual(JSON.parse(fs.readFileSync(metaFile(d), 'utf8')), { note: 'lr too high', colour: 'red' });
  assert.deepEqual(fs.readdirSync(d), [RUN_META_FILE], 'only run-meta.json: the temp file was renamed');
});

test('writeRunMeta: refuses a malformed file (left byte for byte), invalid values and a missing run folder', () => {
  const d = runDir();
  fs.writeFileSync(metaFile(d), '{"name": "mine", oops');
  assert.throws(() => writeRunMeta(d, { name: 'x' }), /not valid JSON.*fix or remove it/);
  assert.equal(fs.readFileSync(metaFile(d), 'utf8'), '{"name": "mine", oops');
  fs.writeFileSync(metaFile(d), '[1]');
  assert.throws(() => writeRunMeta(d, { name: 'x' }), /does not hold a JSON object/);
  fs.rmSync(metaFile(d));
  assert.throws(() => writeRunMeta(d, { tags: ['a b'] }), /may hold only letters/);
  assert.equal(fs.existsSync(metaFile(d)), false, 'nothing written for an invalid value');
  assert.deepEqual(fs.readdirSync(d), [], 'no temp file left behind');
  assert.throws(() => writeRunMeta(path.join(root, 'gone', 'runs', 'x'), { name: 'x' }), /does not exist/);
  assert.equal(fs.existsSync(path.join(root, 'gone')), false, 'no folder created for a deleted run');
});

test('the trainer leaves run-meta.json alone when it resumes a run (stale-temp clean-up, status rewrite, line dropping)', () => {
  const d = runDir();
  fs.mkdirSync(path.join(d, 'checkpoints'));
  writeRunMeta(d, { name: 'keep me', tags: ['t'] });
  const before = fs.readFileSync(metaFile(d), 'utf8');
  // What runCommand.ts does on resume: remove dead writers' temps, rewrite status, drop superseded lines.
  fs.writeFileSync(path.join(d, 'status.json.tmp-999999999-abcd'), 'x');
  removeStaleTemps(d, isProcessAlive);
  removeStaleTemps(path.join(d, 'checkpoints'), isProcessAlive);
  const w = new RunWriter(d);
  fs.writeFileSync(path.join(d, 'metrics.jsonl'), '{"stage":"kd/sft","step":1}\n{"stage":"kd/sft","step":9}\n');
  w.dropSupersededLines((l) => (l.step ?? 0) <= 1);
  w.writeStatus({ runId: 'r', state: 'running' } as RunStatus);
  w.log('resumed');
  assert.equal(fs.existsSync(path.join(d, 'status.json.tmp-999999999-abcd')), false, 'the stale temp went');
  assert.equal(fs.readFileSync(metaFile(d), 'utf8'), before, 'run-meta.json unchanged');
});

test('writeFileAtomic (run-meta.json\'s writer): a failed rename removes its temp file and leaves the target as it was', () => {
  const d = runDir();
  const target = path.join(d, 'occupied');
  fs.mkdirSync(path.join(target, 'inside'), { recursive: true });
  assert.throws(() => writeTextAtomic(target, '{}'));
  assert.deepEqual(fs.readdirSync(d), ['occupied'], 'no temp file left');
  assert.deepEqual(fs.readdirSync(target), ['inside']);
});
