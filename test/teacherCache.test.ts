/**
 * Teacher-output cache (src/trainer/train/teacherCache.ts) on the wasm backend: replayed outputs
 * and losses equal the online teacher's, a second open is a hit, the key follows every input, a
 * corrupt entry is rebuilt, an interrupted build resumes to the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { kdLossRows } from '../src/trainer/losses';
import { buildBatch, disposeBatch } from '../src/trainer/models/batch';
import type { EncodedSample } from '../src/trainer/data/encodedSample';
import { cacheFixture, np, pd, syntheticSet, V } from './helpers/tinyModels';
import { CachedTeacher, teacherCacheKey } from '../src/trainer/train/teacherCache';
import { OnlineTeacher } from '../src/trainer/train/step';

/** 70 samples (more than two build chunks): most with one of 5 images, some text-only. */
const makeSet = (): EncodedSample[] => syntheticSet(3, 70, 5, 7, 3, 9);

const fx = cacheFixture('llava-kd-tcache-', makeSet);

function open(key: string, logs: string[] = []): CachedTeacher {
  return CachedTeacher.openOrBuild(fx.dir, key, fx.set, fx.set.map((_, i) => i), fx.teacher, fx.vision, np, pd, 0, (m) => logs.push(m));
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

test('replayed teacher rows and the losses equal the online teacher (1e-5 relative); a second open is a hit', () => {
  const key = teacherCacheKey([null, null], fx.set);
  const logs: string[] = [];
  const cached = open(key, logs);
  assert.ok(logs.some((l) => /building for 70 samples/.test(l)), logs.join('\n'));
  const online = new OnlineTeacher(fx.teacher);
  const weights = { ce: 1, res: 1, vis: 1, rel: 0.5 };
  const opts = { divergence: 'forward_kl' as const, temperature: 1, skewLambda: 0.1 };
  // Batches of other compositions and paddings than the build's chunks.
  for (const idx of [[0, 1, 2, 3], [69, 10, 3, 44, 17], [3, 10, 24], [5, 66, 31, 8, 12, 50, 2, 3]]) {
    const b = buildBatch(idx.map((i) => fx.set[i]), np, pd, 0);
    const feats = b.patches ? fx.vision.forward(b.patches) : null;
    const a = cached.outputs(b, feats, idx);
    const o = online.outputs(b, feats, idx);
    assert.ok(relDiff(a.res.dataSync(), o.res.dataSync()) < 1e-5, `response rows of batch ${idx}`);
    assert.equal(a.vis === null, o.vis === null);
    if (a.vis && o.vis) assert.ok(relDiff(a.vis.dataSync(), o.vis.dataSync()) < 1e-5, `visual rows of batch ${idx}`);
    const s = fx.student.forwardRows(b, feats);
    const loss = (t: { res: tf.Tensor2D; vis: tf.Tensor3D | null }) => {
      const r = kdLossRows({ sRes: s.res, tRes: t.res, targets: b.targetIds, sVis: s.vis ?? undefined, tVis: t.vis ?? undefined }, weights, opts);
      const out = Object.fromEntries(Object.entries({ total: r.total, ...r.terms }).map(([k, v]) => [k, v!.dataSync()[0]]));
      tf.dispose([r.total, ...Object.values(r.terms)]);
      return out;
    };
    const lc = loss(a);
    const lo = loss(o);
    for (const k of Object.keys(lo)) assert.ok(Math.abs(lc[k] - lo[k]) <= 1e-5 * Math.max(1e-3, Math.abs(lo[k])), `${k}: cached ${lc[k]} vs online ${lo[k]}`);
    tf.dispose([a.res, o.res, a.vis ?? [], o.vis ?? [], s.res, s.vis ?? [], feats ?? []].flat());
    disposeBatch(b);
  }
  cached.dispose();
  const again: string[] = [];
  open(key, again).dispose();
  assert.deepEqual(again.filter((l) => /building|rebuilding|resuming/.test(l)), [], 'second open reuses the entry');
});

test('an entry of a subset (the samples a stage draws) answers by data-set index and refuses other samples', () => {
  const ids = [2, 3, 10, 31, 44, 69];
  const sub = ids.map((i) => fx.set[i]);
  const key = teacherCacheKey([null, null], sub);
  const cached = CachedTeacher.openOrBuild(fx.dir, key, sub, ids, fx.teacher, fx.vision, np, pd, 0, () => undefined);
  const online = new OnlineTeacher(fx.teacher);
  const idx = [69, 3, 31];
  const b = buildBatch(idx.map((i) => fx.set[i]), np, pd, 0);
  const feats = b.patches ? fx.vision.forward(b.patches) : null;
  const a = cached.outputs(b, feats, idx);
  const o = online.outputs(b, feats, idx);
  assert.ok(relDiff(a.res.dataSync(), o.res.dataSync()) < 1e-5);
  const other = buildBatch([fx.set[4]], np, pd, 0);
  assert.throws(() => cached.outputs(other, null, [4]), /holds no outputs for sample 4/);
  // Same samples, other indices: not this entry (the stored ids are checked on open).
  const logs: string[] = [];
  CachedTeacher.openOrBuild(fx.dir, key, sub, ids.map((i) => i + 1), fx.teacher, fx.vision, np, pd, 0, (m) => logs.push(m)).dispose();
  assert.ok(logs.some((l) => /incomplete or corrupt: rebuilding/.test(l)), logs.join('\n'));
  tf.dispose([a.res, o.res, a.vis ?? [], o.vis ?? [], feats ?? []].flat());
  disposeBatch(b);
  disposeBatch(other);
  cached.dispose();
});

test('the key follows the checkpoints and every token, label and image of the set', () => {
  const base = teacherCacheKey([null, null], fx.set);
  assert.equal(teacherCacheKey([null, null], makeSet()), base, 'same inputs, same key');
  const tok = makeSet();
  tok[40] = { ...tok[40], tokens: [...tok[40].tokens.slice(0, -1), (tok[40].tokens.at(-1)! % (V - 1)) + 1] };
  assert.notEqual(teacherCacheKey([null, null], tok), base, 'a token');
  const lab = makeSet();
  lab[5] = { ...lab[5], isLabel: Uint8Array.from(lab[5].isLabel, (v, j) => (j === 0 ? 1 - v : v)) };
  assert.notEqual(teacherCacheKey([null, null], lab), base, 'a label flag');
  const img = makeSet();
  const p = Float32Array.from(img[0].patches!);
  p[7] += 0.5;
  img[0] = { ...img[0], patches: p };
  assert.notEqual(teacherCacheKey([null, null], img), base, 'an image pixel');
  const ck = path.join(fx.dir, 'teacher.bin');
  fs.writeFileSync(ck, 'weights A');
  const a = teacherCacheKey([ck, null], fx.set);
  fs.writeFileSync(ck, 'weights B');
  assert.notEqual(teacherCacheKey([ck, null], fx.set), a, 'the teacher checkpoint bytes');
});

test('a corrupt entry is rebuilt; an interrupted build resumes to the same bytes', () => {
  const key = teacherCacheKey([null, null], fx.set);
  const entry = path.join(fx.dir, 'teacher-outputs', key);
  open(key).dispose();
  const good = fs.readFileSync(path.join(entry, 'rows.f32'));
  const index = JSON.parse(fs.readFileSync(path.join(entry, 'index.json'), 'utf8')) as { offsets: number[]; vocab: number };

  fs.truncateSync(path.join(entry, 'rows.f32'), good.length - 4);
  const logs: string[] = [];
  open(key, logs).dispose();
  assert.ok(logs.some((l) => /incomplete or corrupt: rebuilding/.test(l)), logs.join('\n'));
  assert.ok(fs.readFileSync(path.join(entry, 'rows.f32')).equals(good), 'rebuilt entry equals the first build');

  // Interrupted after the first chunk of 32 samples: the partial folder holds their rows only.
  fs.renameSync(entry, `${entry}.partial`);
  fs.rmSync(path.join(`${entry}.partial`, 'index.json'));
  fs.truncateSync(path.join(`${entry}.partial`, 'rows.f32'), index.offsets[32] * index.vocab * 4);
  fs.writeFileSync(path.join(`${entry}.partial`, 'progress.json'), JSON.stringify({ key, samples: 32 }));
  const resumed: string[] = [];
  open(key, resumed).dispose();
  assert.ok(resumed.some((l) => /resuming the build at sample 32 of 70/.test(l)), resumed.join('\n'));
  assert.ok(fs.readFileSync(path.join(entry, 'rows.f32')).equals(good), 'resumed build equals an uninterrupted one');
  assert.ok(!fs.existsSync(`${entry}.partial`));
});
