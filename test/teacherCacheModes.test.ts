/**
 * Teacher-output cache formats (teacherCacheCodec.ts, teacherCache.ts): fp16 rounding against
 * brute-force nearest-half search; top-k rows against a float64 reference (kept logits exact, the
 * tail's log-sum-exp and mass at T = 1 exact); replayed fp16/top-k entries against the online
 * teacher (fp16 losses within 2e-3 relative and rows within the recorded error; top-k RDist equal
 * to the online one through the stored relation matrices, L_res equal to a float64 KL against the
 * flattened-tail teacher, k = V equal to exact); formats have their own keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { kdLossRows } from '../src/trainer/losses';
import { buildBatch, disposeBatch } from '../src/trainer/models/batch';
import { cacheFixture, np, pd, syntheticSet, V } from './helpers/tinyModels';
import { mulberry32 } from '../src/common/random';
import { CachedTeacher, teacherCacheKey } from '../src/trainer/train/teacherCache';
import { decodeRows, encodeRows, finishStats, fromHalf, newStats, rowBytes, toHalf, type RowFormat } from '../src/trainer/train/teacherCacheCodec';
import { OnlineTeacher, type TeacherOutputs } from '../src/trainer/train/step';

const fx = cacheFixture('llava-kd-tmodes-', () => syntheticSet(5, 40, 4, 5, 2, 8));

test('toHalf: known bit patterns, and the nearest half (ties to even) of 20 000 random floats', () => {
  const known: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [0.1, 0x2e66], [0, 0], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02]];
  for (const [x, h] of known) assert.equal(toHalf(x), h, `${x}`);
  assert.equal(fromHalf(0x7c00), Infinity);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  const r = mulberry32(9);
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround((r() - 0.5) * 2 ** Math.floor(r() * 30 - 18));
    const h = toHalf(x);
    const e = Math.abs(fromHalf(h) - x);
    // Brute force: no finite half is closer (neighbours in bit order bracket x).
    for (const nb of [h - 1, h + 1]) {
      if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || nb > 0xffff || ((nb ^ h) & 0x8000)) continue;
      const en = Math.abs(fromHalf(nb) - x);
      assert.ok(e < en || (e === en && (h & 1) === 0), `${x}: ${h.toString(16)} (${fromHalf(h)}) vs ${nb.toString(16)} (${fromHalf(nb)})`);
    }
  }
});

test('topk rows: kept logits exact, the tail\'s log-sum-exp and mass at T = 1 exact (float64 reference), k = V is exact', () => {
  const r = mulberry32(11);
  const n = 30;
  const rows = Float32Array.from({ length: n * V }, () => (r() - 0.5) * 12);
  for (const k of [1, 5, 16, V]) {
    const f: RowFormat = { mode: 'topk', k };
    const out = new Uint8Array(n * rowBytes(V, f));
    const stats = newStats(f);
    encodeRows(rows, n, V, f, out, stats);
    const dec = decodeRows(out, n, V, f);
    let tailSum = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(rows.subarray(i * V, (i + 1) * V));
      const order = row.map((_, j) => j).sort((a, b) => row[b] - row[a] || a - b);
      const top = new Set(order.slice(0, k));
      const lse = (xs: number[]) => { const m = Math.max(...xs); return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0)); };
      const rest = row.filter((_, j) => !top.has(j));
      const d = Array.from(dec.subarray(i * V, (i + 1) * V));
      for (const j of top) assert.equal(d[j], row[j], `row ${i} kept logit ${j}`);
      if (k === V) continue;
      const tailDec = d.filter((_, j) => !top.has(j));
      assert.ok(Math.abs(lse(tailDec) - lse(rest)) < 1e-5, `row ${i}: tail lse ${lse(tailDec)} vs ${lse(rest)}`);
      const mass = (xs: number[]) => Math.exp(lse(xs) - lse(row.map((_, j) => (top.has(j) ? row[j] : NaN)).filter((x) => !Number.isNaN(x)).concat([lse(xs)])));
      assert.ok(Math.abs(mass(tailDec) - mass(rest)) < 1e-6);
      tailSum += Math.exp(lse(rest) - lse(row));
    }
    const st = finishStats(stats);
    if (k === V) assert.deepEqual(Array.from(dec), Array.from(rows));
    else assert.ok(Math.abs(st.meanTailMass! - tailSum / n) < 1e-9, `mean tail mass ${st.meanTailMass} vs ${tailSum / n}`);
  }
});

const weights = { ce: 1, res: 1, vis: 1, rel: 0.5 };
const opts = { divergence: 'forward_kl' as const, temperature: 1, skewLambda: 0.1 };

function losses(b: ReturnType<typeof buildBatch>, feats: tf.Tensor3D | null, t: TeacherOutputs): Record<string, number> {
  const s = fx.student.forwardRows(b, feats);
  const r = kdLossRows({ sRes: s.res, tRes: t.res, targets: b.targetIds, sVis: s.vis ?? undefined, tVis: t.vis ?? undefined, tRel: t.rel }, weights, opts);
  const out = Object.fromEntries(Object.entries({ total: r.total, ...r.terms }).map(([k, v]) => [k, v!.dataSync()[0]]));
  tf.dispose([r.total, ...Object.values(r.terms), s.res, s.vis ?? []].flat());
  return out;
}

function openFormat(f: RowFormat, logs: string[] = []): CachedTeacher {
  return CachedTeacher.openOrBuild(fx.dir, teacherCacheKey([null, null], fx.set, f), fx.set, fx.set.map((_, i) => i), fx.teacher, fx.vision, np, pd, 0, (m) => logs.push(m), f);
}

test('fp16 entry: rows within the recorded rounding error, losses within 2e-3 relative of the online teacher', () => {
  const logs: string[] = [];
  const c = openFormat({ mode: 'fp16' }, logs);
  assert.ok(c.stats && c.stats.maxAbsError! > 0 && c.stats.maxRelError! <= 2 ** -11, JSON.stringify(c.stats));
  assert.ok(logs.some((l) => /fp16 rounding: max \|error\|/.test(l)), logs.join('\n'));
  const online = new OnlineTeacher(fx.teacher);
  for (const idx of [[0, 1, 2, 3], [39, 7, 12], [2, 22, 17, 30, 5]]) {
    const b = buildBatch(idx.map((i) => fx.set[i]), np, pd, 0);
    const feats = b.patches ? fx.vision.forward(b.patches) : null;
    const a = c.outputs(b, feats, idx);
    const o = online.outputs(b, feats, idx);
    const ad = a.res.dataSync();
    const od = o.res.dataSync();
    for (let i = 0; i < ad.length; i++) assert.ok(Math.abs(ad[i] - od[i]) <= c.stats!.maxAbsError! + 1e-7, `row value ${i}`);
    const la = losses(b, feats, a);
    const lo = losses(b, feats, o);
    for (const k of Object.keys(lo)) assert.ok(Math.abs(la[k] - lo[k]) <= 2e-3 * Math.max(1e-2, Math.abs(lo[k])), `${k}: fp16 ${la[k]} vs online ${lo[k]}`);
    tf.dispose([a.res, o.res, a.vis ?? [], o.vis ?? [], feats ?? []].flat());
    disposeBatch(b);
  }
  c.dispose();
});

test('topk entry: RDist equals the online teacher\'s (stored relation matrices); L_res equals a float64 KL against the flattened-tail teacher; k = V equals exact', () => {
  const k = 6;
  const logs: string[] = [];
  const c = openFormat({ mode: 'topk', k }, logs);
  assert.ok(logs.some((l) => /top-6 logits/.test(l) && /relation matrices/.test(l)), logs.join('\n'));
  assert.ok(c.stats!.meanTailMass! > 0 && c.stats!.maxTailMass! < 1);
  const full = openFormat({ mode: 'topk', k: V });
  const online = new OnlineTeacher(fx.teacher);
  const idx = [0, 1, 3, 8, 2];
  const b = buildBatch(idx.map((i) => fx.set[i]), np, pd, 0);
  const feats = b.patches ? fx.vision.forward(b.patches) : null;
  const a = c.outputs(b, feats, idx);
  const o = online.outputs(b, feats, idx);
  const la = losses(b, feats, a);
  const lo = losses(b, feats, o);
  assert.ok(Math.abs(la.rel - lo.rel) <= 1e-5 * Math.abs(lo.rel), `rel: topk ${la.rel} vs online ${lo.rel}`);
  assert.ok(Math.abs(la.ce - lo.ce) <= 1e-6 * lo.ce, 'CE does not involve the teacher');
  assert.notEqual(la.res, lo.res, 'top-6 of 40 is an approximation');
  // Float64 reference of L_res: the teacher's top-k probabilities exact, its tail mass spread evenly.
  const t = o.res.arraySync() as number[][];
  const s = fx.student.forwardRows(b, feats);
  const sr = s.res.arraySync() as number[][];
  let kl = 0;
  for (let i = 0; i < t.length; i++) {
    const row = t[i];
    const order = row.map((_, j) => j).sort((x, y) => row[y] - row[x] || x - y);
    const top = new Set(order.slice(0, k));
    const lse = (xs: number[]) => { const m = Math.max(...xs); return m + Math.log(xs.reduce((acc, x) => acc + Math.exp(x - m), 0)); };
    const all = lse(row);
    const tailEach = Math.exp(lse(row.filter((_, j) => !top.has(j))) - all) / (V - k);
    const ls = lse(sr[i]);
    for (let j = 0; j < V; j++) {
      const p = top.has(j) ? Math.exp(row[j] - all) : tailEach;
      kl += p * (Math.log(p) - (sr[i][j] - ls));
    }
  }
  kl /= t.length;
  assert.ok(Math.abs(la.res - kl) <= 1e-5 * kl, `L_res topk ${la.res} vs float64 ${kl}`);
  const f = full.outputs(b, feats, idx);
  const lf = losses(b, feats, f);
  for (const key of Object.keys(lo)) assert.ok(Math.abs(lf[key] - lo[key]) <= 1e-5 * Math.max(1e-3, Math.abs(lo[key])), `k = V ${key}: ${lf[key]} vs ${lo[key]}`);
  tf.dispose([a.res, o.res, f.res, a.vis ?? [], o.vis ?? [], f.vis ?? [], a.rel ?? [], f.rel ?? [], s.res, s.vis ?? [], feats ?? []].flat());
  disposeBatch(b);
  c.dispose();
  full.dispose();
});

test('each format has its own key; exact keeps the key it had before formats existed', () => {
  const exact = teacherCacheKey([null, null], fx.set);
  assert.equal(teacherCacheKey([null, null], fx.set, { mode: 'exact' }), exact);
  const keys = [exact, teacherCacheKey([null, null], fx.set, { mode: 'fp16' }), teacherCacheKey([null, null], fx.set, { mode: 'topk', k: 6 }), teacherCacheKey([null, null], fx.set, { mode: 'topk', k: 7 })];
  assert.equal(new Set(keys).size, 4);
});

test('a tiny run with distill.teacherCache "topk" records the format and its loss in status.json; over teacherCacheMaxMB the teacher runs online', async () => {
  const { runCli, tmpDir, writeExperiment, cleanupTmp } = await import('./helpers/cli');
  const cache = tmpDir('tmodes-cache');
  const d1 = tmpDir('tmodes-topk');
  const f1 = writeExperiment(d1, { preset: 'tiny', distill: { teacherCache: 'topk', teacherCacheTopK: 5 } });
  const a = await runCli(['run', f1, '--backend', 'wasm'], { env: { LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 300000 });
  assert.equal(a.code, 0, a.stderr.slice(-2000));
  const runA = path.join(d1, 'runs', fs.readdirSync(path.join(d1, 'runs'))[0]);
  const st = JSON.parse(fs.readFileSync(path.join(runA, 'status.json'), 'utf8'));
  for (const id of ['kd/dpt', 'kd/dft']) {
    const rec = st.teacherCache[id];
    assert.equal(rec.mode, 'topk', id);
    assert.equal(rec.k, 5);
    assert.ok(rec.stats.meanTailMass > 0 && rec.stats.meanTailMass < 1, JSON.stringify(rec.stats));
    assert.ok(fs.existsSync(path.join(rec.path, 'rows.topk')) && fs.existsSync(path.join(rec.path, 'rel.f32')), rec.path);
  }
  assert.match(a.stdout + a.stderr, /top-5 logits \+ the rest's log-sum-exp/);
  const d2 = tmpDir('tmodes-limit');
  const f2 = writeExperiment(d2, { preset: 'tiny', distill: { teacherCacheMaxMB: 0.001 } });
  const b = await runCli(['run', f2, '--backend', 'wasm', '--stages', 'kd', '--from', runA], { env: { LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 300000 });
  assert.equal(b.code, 0, b.stderr.slice(-2000));
  assert.match(b.stdout + b.stderr, /over distill\.teacherCacheMaxMB \(0\.001\): running the teacher online/);
  const runB = path.join(d2, 'runs', fs.readdirSync(path.join(d2, 'runs'))[0]);
  assert.equal(JSON.parse(fs.readFileSync(path.join(runB, 'status.json'), 'utf8')).teacherCache, undefined);
  cleanupTmp();
});
