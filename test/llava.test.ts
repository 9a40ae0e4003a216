/**
 * Tests of the data loaders: LLaVA JSON/JSONL validation and its error messages, KdTokenizer
 * loading (world WordPiece and a real-style byte-level BPE file, plus its errors), loadImage on
 * PNG and JPEG with resizing, the image cache, and answer normalisation.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { generateWorld, loadLlavaFile, KdTokenizer, loadImage, ImageCache, normalizeAnswer, isCorrect } from '../src/trainer/data';

const root = mkdtempSync(join(tmpdir(), 'kd-llava-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
const world = join(root, 'world');
generateWorld({ seed: 3, imageSize: 32, trainImages: 30, valImages: 10, testImages: 10, maxObjects: 4, holdOutCombos: true }, world);

const good = (id: string, image?: string): object => ({
  id,
  ...(image ? { image } : {}),
  conversations: [
    { from: 'human', value: image ? '<image>\nwhat is it?' : 'hello?' },
    { from: 'gpt', value: 'a circle' },
  ],
});

/** Writes `content` to a file under root and returns its path. */
function write(name: string, content: string): string {
  const p = join(root, name);
  writeFileSync(p, content);
  return p;
}

test('loads the world files with absolute image paths, types and held-out flags', () => {
  const instruct = loadLlavaFile(join(world, 'instruct.json'), world);
  assert.equal(instruct.length, 90);
  assert.equal(instruct[0].image, join(world, 'images/train/train-000000.png'));
  assert.ok(instruct.every((s) => s.image && existsSync(s.image) && typeof s.type === 'string'));
  assert.ok(instruct.some((s) => s.type === 'multi' && s.conversations.length >= 4));
  const testSet = loadLlavaFile(join(world, 'test.json'), world);
  assert.equal(testSet.length, 20);
  assert.ok(testSet.some((s) => s.heldOut === true) && testSet.some((s) => s.heldOut === false));
  const caps = loadLlavaFile(join(world, 'captions.json'), world);
  assert.equal(caps[0].conversations[0].value, '<image>');
});

test('record errors name the file, record, field and expectation', () => {
  const f = write('bad-from.json', JSON.stringify([
    good('a', 'x.png'),
    { id: 'b', conversations: [{ from: 'human', value: 'q' }, { from: 'human', value: 'a' }] },
  ]));
  assert.throws(() => loadLlavaFile(f, root, { checkImages: false }), { message: `${f}: record 1: conversations[1].from must be "gpt", found "human"` });
  const g = write('bad-conv.json', JSON.stringify([{ id: 'c', image: 'x.png' }]));
  assert.throws(() => loadLlavaFile(g, root, { checkImages: false }), { message: `${g}: record 0: conversations must be an array of {from, value}, found nothing` });
  const h = write('no-image-token.json', JSON.stringify([{ id: 'd', image: 'x.png', conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }]));
  assert.throws(() => loadLlavaFile(h, root, { checkImages: false }), { message: `${h}: record 0: conversations[0].value must contain "<image>" exactly once (the record has an image), found 0` });
  const i = write('odd.json', JSON.stringify([good('e'), { id: 'f', conversations: [{ from: 'human', value: 'q' }] }]));
  assert.throws(() => loadLlavaFile(i, root), /record 1: conversations must hold at least one human turn and one gpt turn, found 1 turn/);
  const j = write('value.json', JSON.stringify([{ id: 7, conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 3 }] }]));
  assert.throws(() => loadLlavaFile(j, root), { message: `${j}: record 0: conversations[1].value must be a string, found 3` });
  const k = write('object.json', JSON.stringify({ data: [] }));
  assert.throws(() => loadLlavaFile(k, root), /object\.json: expected a JSON array of LLaVA records \(or JSONL, one record per line\), found object/);
  const l = write('broken.json', '[{"id": "a",');
  assert.throws(() => loadLlavaFile(l, root), { message: new RegExp(`^${l.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid JSON`) });
  assert.throws(() => loadLlavaFile(join(root, 'nope.json'), root), /nope\.json: file not found/);
  // Text-only records are fine; a numeric id becomes a string.
  const m = write('text-only.json', JSON.stringify([good('x'), { ...good('y'), id: 12 }]));
  assert.deepEqual(loadLlavaFile(m, root).map((s) => [s.id, s.image]), [['x', undefined], ['12', undefined]]);
});

test('JSONL: one record per line; a malformed line names its line number', () => {
  const ok = write('ok.jsonl', [JSON.stringify(good('a')), '', JSON.stringify(good('b'))].join('\n') + '\n');
  assert.deepEqual(loadLlavaFile(ok, root).map((s) => s.id), ['a', 'b']);
  const bad = write('bad.jsonl', [JSON.stringify(good('a')), '', '{"id": "b", conversations: []}', JSON.stringify(good('c'))].join('\n'));
  assert.throws(() => loadLlavaFile(bad, root), (e: Error) => {
    assert.match(e.message, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line 3 \\(record 1\\): invalid JSON`));
    return true;
  });
  const badRec = write('badrec.jsonl', [JSON.stringify(good('a')), JSON.stringify({ id: 'b', conversations: [{ from: 'gpt', value: 'x' }, { from: 'gpt', value: 'y' }] })].join('\n'));
  assert.throws(() => loadLlavaFile(badRec, root), { message: `${badRec}: line 2 (record 1): conversations[0].from must be "human", found "gpt"` });
});

test('a missing image is reported with its file, record and field; checkImages exists / false check less', () => {
  mkdirSync(join(root, 'imgs'), { recursive: true });
  writeFileSync(join(root, 'imgs', 'there.png'), PNG.sync.write(Object.assign(new PNG({ width: 2, height: 2 }), { data: Buffer.alloc(16, 255) })));
  const f = write('missing.json', JSON.stringify([good('a', 'there.png'), good('b', 'gone.png')]));
  assert.throws(() => loadLlavaFile(f, join(root, 'imgs')), { message: `${f}: record 1 (id b), field "image" ("gone.png"): not found at ${join(root, 'imgs', 'gone.png')}` });
  // 'exists' (the built-in world) only checks that the file is there: a text file passes it.
  writeFileSync(join(root, 'imgs', 'text.png'), 'x');
  const t = write('text-image.json', JSON.stringify([good('c', 'text.png')]));
  assert.equal(loadLlavaFile(t, join(root, 'imgs'), { checkImages: 'exists' }).length, 1);
  assert.throws(() => loadLlavaFile(t, join(root, 'imgs')), /record 0 \(id c\), field "image" \("text\.png"\): .*not a PNG or JPEG image/);
  const samples = loadLlavaFile(f, join(root, 'imgs'), { checkImages: false });
  assert.equal(samples[1].image, join(root, 'imgs', 'gone.png'));
});

test('KdTokenizer loads a byte-level BPE tokenizer.json through the same path', () => {
  const dir = join(root, 'bpe');
  mkdirSync(dir);
  const vocab = { h: 0, e: 1, l: 2, o: 3, he: 4, ll: 5, hell: 6, hello: 7, 'Ġ': 8, w: 9, r: 10, d: 11, '</s>': 12, '<image>': 13, 'Ġw': 14, 'Ġwo': 15, 'Ġwor': 16, 'Ġworld': 17, 'Ċ': 18, ld: 19 };
  const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const p = join(dir, 'tokenizer.json');
  writeFileSync(p, JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 12, content: '</s>', special: true, normalized: false },
      { id: 13, content: '<image>', special: true, normalized: false },
    ],
    normalizer: null,
    pre_tokenizer: bl,
    post_processor: null,
    decoder: bl,
    model: { type: 'BPE', unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'Ġw o', 'Ġwo r', 'l d', 'Ġwor ld'] },
  }));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '</s>' }));
  const tok = KdTokenizer.fromFile(p);
  assert.equal(tok.vocabSize, 20);
  assert.equal(tok.eosId, 12);
  assert.equal(tok.padId, 12); // no pad token: falls back to eos
  assert.equal(tok.imageId, 13);
  assert.deepEqual(tok.encode('<image>\nhello world</s>'), [13, 18, 7, 17, 12]);
  assert.equal(tok.decode([7, 17, 12]), 'hello world');
  assert.equal(tok.decode([]), '');
});

test('KdTokenizer errors name the file', () => {
  const missing = join(root, 'none', 'tokenizer.json');
  assert.throws(() => KdTokenizer.fromFile(missing), { message: `${missing}: tokenizer file not found` });
  const bad = write('bad-tok.json', '{ "model": ');
  assert.throws(() => KdTokenizer.fromFile(bad), new RegExp(`bad-tok\\.json: tokenizer file is not valid JSON`));
  const wl = write('wordlevel.json', JSON.stringify({ model: { type: 'WordLevel', vocab: { a: 0, '<unk>': 1 }, unk_token: '<unk>' }, added_tokens: [] }));
  assert.throws(() => KdTokenizer.fromFile(wl), /wordlevel\.json: unsupported tokenizer model type "WordLevel"; expected one of BPE, WordPiece, Unigram/);
  const noImg = write('noimage.json', JSON.stringify({
    added_tokens: [{ id: 0, content: '<eos>', special: true }],
    normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null,
    model: { type: 'WordPiece', unk_token: '<eos>', continuing_subword_prefix: '##', vocab: { '<eos>': 0, hi: 1 } },
  }));
  const tok = KdTokenizer.fromFile(noImg);
  assert.deepEqual(tok.encode('hi'), [1]);
  assert.equal(tok.hasImageToken, false);
  assert.throws(() => tok.imageId, new RegExp(`noimage\\.json: tokenizer has no "<image>" token`));
});

/** Writes a PNG of RGBA pixels. */
function writePng(name: string, w: number, h: number, rgba: number[]): string {
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(rgba);
  const p = join(root, name);
  writeFileSync(p, PNG.sync.write(png));
  return p;
}

test('loadImage decodes PNG to HWC RGB in [0,1], drops alpha, and resizes', () => {
  // 4x4 image: pixel (x, y) = (10x + 1, 20y + 2, 7(x+y)), alpha varies.
  const rgba: number[] = [];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) rgba.push(10 * x + 1, 20 * y + 2, 7 * (x + y), 50 + 10 * x);
  const p = writePng('grad.png', 4, 4, rgba);
  const full = loadImage(p, 4);
  assert.equal(full.length, 48);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
    const k = (y * 4 + x) * 3;
    assert.ok(Math.abs(full[k] - (10 * x + 1) / 255) < 1e-6 && Math.abs(full[k + 1] - (20 * y + 2) / 255) < 1e-6 && Math.abs(full[k + 2] - (7 * (x + y)) / 255) < 1e-6);
  }
  // 4 -> 2: mean of each 2x2 block. Block (0,0): x in {0,1}, y in {0,1}.
  const half = loadImage(p, 2);
  assert.ok(Math.abs(half[0] - 6 / 255) < 1e-6); // (1 + 11) / 2
  assert.ok(Math.abs(half[1] - 12 / 255) < 1e-6); // (2 + 22) / 2
  const k11 = (1 * 2 + 1) * 3;
  assert.ok(Math.abs(half[k11] - 26 / 255) < 1e-6); // (21 + 31) / 2
  assert.ok(Math.abs(half[k11 + 2] - 35 / 255) < 1e-6); // 7 * mean(4,5,5,6)
  // 2x2 -> 4x4 bilinear with half-pixel centres: output x=1 samples source x=0.25.
  const small = writePng('small.png', 2, 2, [0, 0, 0, 255, 200, 0, 0, 255, 0, 100, 0, 255, 200, 100, 0, 255]);
  const up = loadImage(small, 4);
  assert.ok(Math.abs(up[(0 * 4 + 1) * 3] - 50 / 255) < 1e-6);
  assert.ok(Math.abs(up[(0 * 4 + 0) * 3] - 0) < 1e-6);
  assert.ok(Math.abs(up[(2 * 4 + 0) * 3 + 1] - 75 / 255) < 1e-6);
});

test('loadImage decodes JPEG within tolerance; missing and corrupt files name the file', () => {
  const w = 16;
  const data = Buffer.alloc(w * w * 4);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) {
    const k = (y * w + x) * 4;
    const c = x < 8 ? [200, 30, 30] : [30, 60, 220];
    data[k] = c[0]; data[k + 1] = c[1]; data[k + 2] = c[2]; data[k + 3] = 255;
  }
  const p = join(root, 'two.jpg');
  writeFileSync(p, jpeg.encode({ width: w, height: w, data }, 95).data);
  const img = loadImage(p, 16);
  const at = (x: number, y: number): number[] => [0, 1, 2].map((c) => img[(y * 16 + x) * 3 + c]);
  at(3, 8).forEach((v, c) => assert.ok(Math.abs(v - [200, 30, 30][c] / 255) < 0.04, `left ${c}: ${v}`));
  at(12, 8).forEach((v, c) => assert.ok(Math.abs(v - [30, 60, 220][c] / 255) < 0.04, `right ${c}: ${v}`));
  const small = loadImage(p, 4);
  assert.ok(Math.abs(small[(2 * 4 + 0) * 3] - 200 / 255) < 0.04);
  assert.throws(() => loadImage(join(root, 'nope.png'), 8), { message: `${join(root, 'nope.png')}: image file not found` });
  const corrupt = join(root, 'corrupt.png');
  writeFileSync(corrupt, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('garbage garbage')]));
  assert.throws(() => loadImage(corrupt, 8), new RegExp(`corrupt\\.png: truncated or corrupt PNG \\(no IHDR chunk`));
  const text = write('text.png', 'hello');
  assert.throws(() => loadImage(text, 8), /text\.png: not a PNG or JPEG image/);
});

test('ImageCache returns the cached array and evicts least recently used', () => {
  const a = join(world, 'images/train/train-000000.png');
  const b = join(world, 'images/train/train-000001.png');
  const all = new ImageCache(32);
  const x = all.get(a);
  assert.equal(all.get(a), x);
  assert.deepEqual(x, loadImage(a, 32));
  const lru = new ImageCache(32, 1);
  const y = lru.get(a);
  lru.get(b);
  assert.equal(lru.entries, 1);
  assert.notEqual(lru.get(a), y);
});

test('answers are normalised before exact match', () => {
  assert.equal(normalizeAnswer('  Top   Left. '), 'top left');
  assert.equal(normalizeAnswer('Yes!?'), 'yes');
  assert.ok(isCorrect('Red.', 'red'));
  assert.ok(isCorrect('bottom  right', 'Bottom right'));
  assert.ok(!isCorrect('red circle', 'red'));
  assert.ok(!isCorrect('', 'no'));
});
