/**
 * Tests of the procedural world generator: determinism, idempotence, captions and answers
 * re-derived independently from the scene objects, rendered pixels, held-out combos, balance,
 * and the tokenizer round-trip through @huggingface/tokenizers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PNG } from 'pngjs';
import type { WorldConfig } from '../src/trainer/config/types';
import { generateWorld, readWorldScenes, COLORS, KdTokenizer, type Scene, type SceneObject, type LlavaRecord } from '../src/trainer/data';

const base: WorldConfig = { seed: 7, imageSize: 32, trainImages: 150, valImages: 40, testImages: 60, maxObjects: 4, holdOutCombos: true };
const root = mkdtempSync(join(tmpdir(), 'kd-world-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dirA = join(root, 'a');
const metaA = generateWorld(base, dirA);
const scenes = readWorldScenes(dirA);
const readRecords = (dir: string, f: string): LlavaRecord[] => JSON.parse(readFileSync(join(dir, f), 'utf8')) as LlavaRecord[];

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

// ---- independent re-derivation of the language from the scene objects ----
const ROWS = ['top', '', 'bottom'];
const COLS = ['left', '', 'right'];
const rowOf = (o: SceneObject): number => Math.floor(o.cell / 3);
const colOf = (o: SceneObject): number => o.cell % 3;
function placeName(o: SceneObject): string {
  const r = ROWS[rowOf(o)];
  const c = COLS[colOf(o)];
  return r && c ? `${r} ${c}` : r || c || 'center';
}
function placePhrase(o: SceneObject): string {
  const r = ROWS[rowOf(o)];
  const c = COLS[colOf(o)];
  if (r) return `at the ${placeName(o)}`;
  return c ? `on the ${c}` : 'in the center';
}
const PLURALS: Record<string, string> = { circles: 'circle', squares: 'square', triangles: 'triangle', diamonds: 'diamond', crosses: 'cross' };

/** Objects matching a description made of size/colour/shape words ending in a shape or "object". */
function matchWords(objs: SceneObject[], words: string[]): SceneObject[] {
  return objs.filter((o) =>
    words.every((w) => w === 'object' || w === o.shape || w === o.color || w === o.size),
  );
}

/** The unique object a definite description denotes; fails when it is not unique. */
function resolveRef(scene: Scene, ref: string): SceneObject {
  const pos = /^the object (at the|on the|in the) (.+)$/.exec(ref);
  let found: SceneObject[];
  if (pos) found = scene.objects.filter((o) => placePhrase(o) === `${pos[1]} ${pos[2]}`);
  else {
    assert.match(ref, /^the /, `bad reference "${ref}"`);
    const words = ref.slice(4).split(' ');
    for (const w of words) assert.ok(w === 'object' || w in COLORS || ['small', 'large', 'circle', 'square', 'triangle', 'diamond', 'cross'].includes(w), `unknown word "${w}" in "${ref}"`);
    found = matchWords(scene.objects, words);
  }
  assert.equal(found.length, 1, `reference "${ref}" is ambiguous or empty in ${scene.id}`);
  return found[0];
}

/** Expected answer of one question, derived without the generator's code. Returns [type, answer]. */
function expectedAnswer(scene: Scene, q: string): [string, string] {
  let m: RegExpExecArray | null;
  if ((m = /^what color is (.+)\?$/.exec(q))) return ['color', resolveRef(scene, m[1]).color];
  if ((m = /^what shape is (.+)\?$/.exec(q))) return ['shape', resolveRef(scene, m[1]).shape];
  if (q === 'how many objects are there?') return ['count', String(scene.objects.length)];
  if ((m = /^how many (\w+) objects are there\?$/.exec(q))) return ['count', String(scene.objects.filter((o) => o.color === m![1]).length)];
  if ((m = /^how many (\w+) are there\?$/.exec(q))) {
    assert.ok(m[1] in PLURALS, q);
    return ['count', String(scene.objects.filter((o) => o.shape === PLURALS[m![1]]).length)];
  }
  if ((m = /^is there (a|an) (.+)\?$/.exec(q))) {
    const words = m[2].split(' ');
    assert.equal(m[1], /^[aeiou]/.test(words[0]) ? 'an' : 'a', `article in "${q}"`);
    return ['exist', matchWords(scene.objects, words).length > 0 ? 'yes' : 'no'];
  }
  if ((m = /^where is (.+)\?$/.exec(q))) return ['spatial', placeName(resolveRef(scene, m[1]))];
  if ((m = /^is (the .+?) (left of|right of|above|below) (the .+)\?$/.exec(q))) {
    const a = resolveRef(scene, m[1]);
    const b = resolveRef(scene, m[3]);
    const holds = { 'left of': colOf(a) < colOf(b), 'right of': colOf(a) > colOf(b), above: rowOf(a) < rowOf(b), below: rowOf(a) > rowOf(b) }[m[2]]!;
    return ['spatial', holds ? 'yes' : 'no'];
  }
  throw new Error(`unrecognised question "${q}"`);
}

test('same seed gives byte-identical files, another seed a different world', () => {
  const dirB = join(root, 'b');
  generateWorld(base, dirB);
  const files = listFiles(dirA);
  assert.deepEqual(listFiles(dirB), files);
  assert.ok(files.includes('images/train/train-000000.png'));
  assert.equal(files.filter((f) => f.endsWith('.png')).length, 150 + 40 + 60);
  for (const f of files) assert.ok(readFileSync(join(dirA, f)).equals(readFileSync(join(dirB, f))), `${f} differs`);
  const dirC = join(root, 'c');
  generateWorld({ ...base, seed: 8 }, dirC);
  assert.notEqual(readFileSync(join(dirA, 'captions.json'), 'utf8'), readFileSync(join(dirC, 'captions.json'), 'utf8'));
  assert.ok(!readFileSync(join(dirA, 'images/train/train-000003.png')).equals(readFileSync(join(dirC, 'images/train/train-000003.png'))));
});

test('generateWorld is idempotent, regenerates on config change, and refuses foreign folders', () => {
  const dir = join(root, 'idem');
  const m1 = generateWorld(base, dir);
  const t1 = statSync(join(dir, 'captions.json')).mtimeMs;
  const m2 = generateWorld(base, dir);
  assert.deepEqual(m2, m1);
  assert.equal(statSync(join(dir, 'captions.json')).mtimeMs, t1);
  const m3 = generateWorld({ ...base, trainImages: 20 }, dir);
  assert.equal(m3.counts.captions.records, 20);
  assert.equal(readRecords(dir, 'captions.json').length, 20);
  assert.equal(readdirSync(join(dir, 'images/train')).length, 20);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.old-')), []);
  const foreign = join(root, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  assert.throws(() => generateWorld(base, foreign), /not a generated world.*refusing to overwrite/);
  assert.ok(existsSync(join(foreign, 'notes.txt')));
  assert.throws(() => generateWorld({ ...base, maxObjects: 7 }, join(root, 'bad')), /data\.world\.maxObjects must be an integer in 1\.\.4, found 7/);
});

test('captions describe every object with its size, colour, shape and place', () => {
  const caps = readRecords(dirA, 'captions.json');
  assert.equal(caps.length, scenes.train.length);
  caps.forEach((rec, i) => {
    const s = scenes.train[i];
    assert.equal(rec.image, `images/train/${s.id}.png`);
    assert.deepEqual(rec.conversations[0], { from: 'human', value: '<image>' });
    const text = rec.conversations[1].value;
    const expected = s.objects.map((o) => `a ${o.size} ${o.color} ${o.shape} ${placePhrase(o)}`);
    for (const e of expected) assert.ok(text.includes(e), `caption "${text}" lacks "${e}"`);
    const joined = expected.length === 1 ? expected[0] : `${expected.slice(0, -1).join(', ')} and ${expected[expected.length - 1]}`;
    assert.equal(text, `${joined}.`);
  });
});

test('rendered pixels match the scene: object colours at centres, background elsewhere', () => {
  const check = (s: Scene): void => {
    const png = PNG.sync.read(readFileSync(join(dirA, `images/${s.split}/${s.id}.png`)));
    assert.equal(png.width, 32);
    const px = (x: number, y: number): number[] => [0, 1, 2].map((c) => png.data[(y * 32 + x) * 4 + c]);
    const cell = 32 / 3;
    for (const o of s.objects) {
      assert.deepEqual(px(Math.floor(o.cx), Math.floor(o.cy)), [...COLORS[o.color]], `${s.id} centre of ${o.color} ${o.shape}`);
      // Inside its own cell: objects cannot overlap.
      assert.ok(o.cx - o.r >= colOf(o) * cell && o.cx + o.r <= (colOf(o) + 1) * cell, `${s.id} x-extent`);
      assert.ok(o.cy - o.r >= rowOf(o) * cell && o.cy + o.r <= (rowOf(o) + 1) * cell, `${s.id} y-extent`);
      let n = 0;
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (px(x, y).join() === COLORS[o.color].join()) n++;
      assert.ok(n >= 9, `${s.id}: ${o.color} ${o.shape} has only ${n} pixels`);
    }
    const occupied = new Set(s.objects.map((o) => o.cell));
    for (let c = 0; c < 9; c++) {
      if (occupied.has(c)) continue;
      const [r, g, b] = px(Math.floor(((c % 3) + 0.5) * cell), Math.floor((Math.floor(c / 3) + 0.5) * cell));
      assert.ok(r === g && g === b && r >= 26 && r <= 38, `${s.id} empty cell ${c} is background grey, found ${[r, g, b]}`);
    }
  };
  scenes.train.slice(0, 40).forEach(check);
  scenes.test.forEach(check);
});

test('every answer agrees with the scene and every question is unambiguous', () => {
  const byId = new Map([...scenes.train, ...scenes.val, ...scenes.test].map((s) => [s.id, s]));
  let checked = 0;
  for (const file of ['instruct.json', 'val.json', 'test.json']) {
    for (const rec of readRecords(dirA, file)) {
      const scene = byId.get(rec.image!.replace(/^images\/\w+\/(.+)\.png$/, '$1'))!;
      assert.ok(scene, rec.id);
      assert.match(rec.conversations[0].value, /^<image>\n/);
      const turns = rec.conversations.length / 2;
      if (file === 'instruct.json' && rec.type === 'multi') assert.ok(turns >= 2 && turns <= 3, rec.id);
      else assert.equal(turns, 1, rec.id);
      for (let t = 0; t < rec.conversations.length; t += 2) {
        const q = rec.conversations[t].value.replace(/^<image>\n/, '');
        const [type, answer] = expectedAnswer(scene, q);
        assert.equal(rec.conversations[t + 1].value, answer, `${rec.id}: "${q}"`);
        if (rec.type !== 'multi') assert.equal(rec.type, type, rec.id);
        assert.ok(answer.split(' ').length <= 2);
        checked++;
      }
    }
  }
  assert.ok(checked > 700, `checked ${checked}`);
});

test('held-out combos never appear in training data but do appear in val/test', () => {
  const held = metaA.heldOutCombos;
  assert.equal(held.length, 4);
  assert.equal(new Set(held.map((c) => c.color)).size, 4);
  assert.equal(new Set(held.map((c) => c.shape)).size, 4);
  const isHeld = (o: SceneObject): boolean => held.some((c) => c.color === o.color && c.shape === o.shape);
  assert.equal(scenes.train.flatMap((s) => s.objects).filter(isHeld).length, 0);
  for (const split of [scenes.val, scenes.test]) {
    for (const c of held) assert.ok(split.some((s) => s.objects.some((o) => o.color === c.color && o.shape === c.shape)), `${c.color} ${c.shape}`);
  }
  const trainText = readFileSync(join(dirA, 'captions.json'), 'utf8') + readFileSync(join(dirA, 'instruct.json'), 'utf8');
  for (const c of held) assert.ok(!trainText.includes(`${c.color} ${c.shape}`), `"${c.color} ${c.shape}" in training text`);
  const test = readRecords(dirA, 'test.json');
  const flagged = test.filter((r) => r.heldOut);
  assert.ok(flagged.length > 0 && flagged.length < test.length);
  assert.equal(metaA.counts.test.heldOut, flagged.length);
  const noHold = generateWorld({ ...base, holdOutCombos: false, trainImages: 10, valImages: 5, testImages: 5 }, join(root, 'nohold'));
  assert.deepEqual(noHold.heldOutCombos, []);
});

test('val/test are balanced across question types and yes/no answers are mixed', () => {
  for (const f of ['val.json', 'test.json']) {
    const recs = readRecords(dirA, f);
    const counts: Record<string, number> = {};
    for (const r of recs) counts[r.type!] = (counts[r.type!] ?? 0) + 1;
    assert.deepEqual(Object.keys(counts).sort(), ['color', 'count', 'exist', 'shape', 'spatial']);
    const v = Object.values(counts);
    assert.ok(Math.max(...v) - Math.min(...v) <= 1, `${f}: ${JSON.stringify(counts)}`);
  }
  const exist = readRecords(dirA, 'instruct.json').filter((r) => r.type === 'exist');
  const yes = exist.filter((r) => r.conversations[1].value === 'yes').length / exist.length;
  assert.ok(yes > 0.35 && yes < 0.65, `exist yes rate ${yes}`);
  assert.equal(metaA.counts.instruct.byType.multi, 150);
});

test('tokenizer.json round-trips every text through @huggingface/tokenizers; <image> is one token', () => {
  const tok = KdTokenizer.fromFile(join(dirA, 'tokenizer.json'));
  assert.equal(tok.vocabSize, metaA.vocabSize);
  assert.equal(tok.padId, 0);
  assert.equal(tok.tokenToId('<unk>'), 1);
  assert.deepEqual(tok.encode('<image>'), [tok.imageId]);
  assert.equal(tok.encode('<image>\nwhat color is the circle?')[0], tok.imageId);
  assert.equal(tok.encode('<image>\nwhat color is the circle?').length, 7);
  const unk = tok.tokenToId('<unk>')!;
  const texts = new Set<string>();
  for (const f of ['captions.json', 'instruct.json', 'val.json', 'test.json']) {
    for (const r of readRecords(dirA, f)) for (const t of r.conversations) texts.add(t.value.replace(/^<image>\n?/, ''));
  }
  texts.delete('');
  for (const t of texts) {
    const ids = tok.encode(t);
    assert.ok(!ids.includes(unk), `<unk> in "${t}"`);
    assert.equal(tok.decode(ids), t);
  }
  // Template words and unseen words encode without <unk> (character pieces).
  const ids = tok.encode('USER: <image>\nzebra? ASSISTANT: yes<eos>');
  assert.ok(!ids.includes(unk));
  assert.equal(ids[ids.length - 1], tok.eosId);
  assert.equal(tok.decode(tok.encode('zebra quokka')), 'zebra quokka');
});

test('a default-size world (3000/200/400 images) is generated in a few seconds', () => {
  const t0 = Date.now();
  const meta = generateWorld({ ...base, seed: 1, trainImages: 3000, valImages: 200, testImages: 400 }, join(root, 'full'));
  const ms = Date.now() - t0;
  assert.ok(ms < 20000, `took ${ms} ms`);
  assert.equal(meta.counts.instruct.records, 9000);
  assert.equal(meta.counts.test.records, 800);
  assert.equal(meta.counts.val.records, 400);
});
