/**
 * Unit-level tests of the trainer's model pieces on the wasm backend: batch building (shifted
 * targets, unshifted visual mask, splice indices), the custom-gradient ops against tf's built-in
 * gradients and a plain-JS reference, Qwen2 causality, the MLLM image splice, the cosine
 * schedule and AdamW against hand-computed numbers, and the stage plan.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/trainer/backend';
import { presetConfig } from '../src/trainer/config';
import type { ExperimentConfig } from '../src/trainer/config/types';
import { buildBatch, disposeBatch } from '../src/trainer/models/batch';
import type { EncodedSample } from '../src/trainer/data/encodedSample';
import { Mllm } from '../src/trainer/models/mllm';
import { VisionEncoder, numPatches, patchDim } from '../src/trainer/models/vision';
import { bmm4, gatherRows, matMul2d } from '../src/trainer/nn/ops';
import { cachedTensorCount, composedAttention, fusedAttentionActive, multiHeadAttention, packedAttention } from '../src/trainer/nn/attention';
import { mulberry32 } from '../src/common/random';
import { AdamW, cosineLr } from '../src/trainer/train/adamw';
import { mllmLossAndGrads, OnlineTeacher } from '../src/trainer/train/step';
import { kdLoss, kdLossRows } from '../src/trainer/losses';
import { fullPlan, isTeacherSide, selectStages, stageConfig, stageSeed, trainableModules } from '../src/common/stagePlan';

before(async () => {
  const b = await initBackend('wasm');
  assert.equal(b.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
});

/** Seeded uniform(-1, 1) floats. */
function rand(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ------------------------------------------------------------------------------ buildBatch

test('buildBatch: shifted targets, unshifted visual mask, splice indices (text-only + two images)', () => {
  const np = 2;
  const pd = 3;
  const pad = 0;
  // Text-only: labels on tokens 1 and 2 -> positions 0 and 1 predict them.
  const text: EncodedSample = { id: 't', tokens: [3, 4, 6], visualStart: -1, isLabel: Uint8Array.from([0, 1, 1]) };
  // Image at slots 1..2; labels on tokens 4 and 5.
  const imgA: EncodedSample = { id: 'a', tokens: [5, pad, pad, 7, 8, 9], visualStart: 1, isLabel: Uint8Array.from([0, 0, 0, 0, 1, 1]), patches: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  // Image at slots 2..3 (after a two-token prefix); label on the last token only.
  const imgB: EncodedSample = { id: 'b', tokens: [10, 11, pad, pad, 12, 13, 14, 15, 16], visualStart: 2, isLabel: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1]), patches: Float32Array.from([7, 8, 9, 10, 11, 12]) };
  const b = buildBatch([text, imgA, imgB], np, pd, pad);
  try {
    assert.equal(b.B, 3);
    assert.equal(b.L, 16, 'longest sample (9) padded to a multiple of 8');
    assert.equal(b.Bi, 2);
    assert.equal(b.Np, np);
    const L = b.L;
    const targets = Array.from(b.targets.dataSync());
    const tmask = Array.from(b.targetMask.dataSync());
    const vmask = Array.from(b.visualMask.dataSync());
    const src = Array.from(b.srcIndex.dataSync());
    const toks = Array.from(b.tokens.dataSync());
    const expTargets = new Array(3 * L).fill(0);
    const expTMask = new Array(3 * L).fill(0);
    const expVMask = new Array(3 * L).fill(0);
    // text: position 0 -> token 4, position 1 -> token 6
    expTargets[0] = 4; expTMask[0] = 1;
    expTargets[1] = 6; expTMask[1] = 1;
    // imgA (row 1): position 3 -> 8, position 4 -> 9; visual slots 1, 2
    expTargets[L + 3] = 8; expTMask[L + 3] = 1;
    expTargets[L + 4] = 9; expTMask[L + 4] = 1;
    expVMask[L + 1] = 1; expVMask[L + 2] = 1;
    // imgB (row 2): position 7 -> 16; visual slots 2, 3
    expTargets[2 * L + 7] = 16; expTMask[2 * L + 7] = 1;
    expVMask[2 * L + 2] = 1; expVMask[2 * L + 3] = 1;
    assert.deepEqual(targets, expTargets);
    assert.deepEqual(tmask, expTMask);
    assert.deepEqual(vmask, expVMask);
    assert.deepEqual(Array.from(b.host.targets), expTargets);
    assert.deepEqual(Array.from(b.host.targetMask), expTMask);
    assert.deepEqual(Array.from(b.host.visualMask), expVMask);
    assert.deepEqual(b.host.lengths, [3, 6, 9]);
    // Packed rows: the three samples' 3 + 6 + 9 real tokens back to back, no padding.
    assert.equal(b.N, 18);
    assert.deepEqual(b.seqStarts, [0, 3, 9, 18]);
    const N = 18;
    // Visual slots point into the visual block [N, N + Bi·Np), image by image; others to their own row.
    const expSrc = Array.from({ length: N }, (_, i) => i);
    expSrc[3 + 1] = N + 0; expSrc[3 + 2] = N + 1;
    expSrc[9 + 2] = N + 2; expSrc[9 + 3] = N + 3;
    assert.deepEqual(src, expSrc);
    assert.deepEqual(Array.from(b.visualPos!.dataSync()), [L + 1, L + 2, 2 * L + 2, 2 * L + 3]);
    // Tokens of the packed rows: pad at visual slots, the sample's ids elsewhere.
    assert.deepEqual(toks, [3, 4, 6, 5, pad, pad, 7, 8, 9, 10, 11, pad, pad, 12, 13, 14, 15, 16]);
    // unpack: the packed row of each flat position, N at padding.
    const expUnpack = new Array(3 * L).fill(N);
    for (let i = 0; i < 3; i++) expUnpack[i] = i;
    for (let i = 0; i < 6; i++) expUnpack[L + i] = 3 + i;
    for (let i = 0; i < 9; i++) expUnpack[2 * L + i] = 9 + i;
    assert.deepEqual(Array.from(b.unpack.dataSync()), expUnpack);
    // lossRows: the packed rows of the response positions (0, 1 | 3, 4 | 7), then of the visual slots.
    assert.deepEqual(Array.from(b.targetPos.dataSync()), [0, 1, L + 3, L + 4, 2 * L + 7]);
    assert.deepEqual(Array.from(b.lossRows.dataSync()), [0, 1, 3 + 3, 3 + 4, 9 + 7, 3 + 1, 3 + 2, 9 + 2, 9 + 3]);
    assert.deepEqual(b.patches!.shape, [2, np, pd]);
    assert.deepEqual(Array.from(b.patches!.dataSync()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  } finally {
    disposeBatch(b);
  }
  // Text-only batch: no patches, no visual positions.
  const t = buildBatch([text], np, pd, pad);
  assert.equal(t.Bi, 0);
  assert.equal(t.patches, null);
  assert.equal(t.visualPos, null);
  assert.equal(t.L, 8);
  disposeBatch(t);
  // An image sample with the wrong patch count is refused, naming the sample.
  assert.throws(() => buildBatch([{ ...imgA, patches: new Float32Array(5) }], np, pd, pad), /sample a: expected 2x3 image patch values, found 5/);
});

// ------------------------------------------------------------------------------ custom-gradient ops

test('matMul2d: value and gradients equal tf.matMul with built-in gradients', () => {
  const x = tf.tensor2d(rand(5 * 4, 1), [5, 4]);
  const w = tf.tensor2d(rand(4 * 3, 2), [4, 3]);
  const r = tf.tensor2d(rand(5 * 3, 3), [5, 3]);
  const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), r)));
  const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), r)));
  const [gx, gw] = ours([x, w]);
  const [rx, rw] = ref([x, w]);
  assert.ok(maxAbsDiff(matMul2d(x, w).dataSync(), tf.matMul(x, w).dataSync()) < 1e-6);
  assert.deepEqual(gx.shape, [5, 4]);
  assert.deepEqual(gw.shape, [4, 3]);
  assert.ok(maxAbsDiff(gx.dataSync(), rx.dataSync()) < 1e-5, 'dx');
  assert.ok(maxAbsDiff(gw.dataSync(), rw.dataSync()) < 1e-5, 'dw');
  // And against the closed form dx = R wᵀ computed in plain JS.
  const W = w.arraySync() as number[][];
  const R = r.arraySync() as number[][];
  const dx = R.map((row) => W.map((wr) => wr.reduce((s, v, j) => s + v * row[j], 0)));
  assert.ok(maxAbsDiff(gx.dataSync(), dx.flat()) < 1e-5, 'dx vs plain JS');
  tf.dispose([x, w, r, gx, gw, rx, rw]);
});

test('bmm4: value and gradients equal tf.matMul on rank-4 operands', () => {
  const a = tf.tensor4d(rand(2 * 3 * 4 * 5, 4), [2, 3, 4, 5]);
  const b = tf.tensor4d(rand(2 * 3 * 5 * 2, 5), [2, 3, 5, 2]);
  const r = tf.tensor4d(rand(2 * 3 * 4 * 2, 6), [2, 3, 4, 2]);
  const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(bmm4(p as tf.Tensor4D, q as tf.Tensor4D), r)))([a, b]);
  const [ra, rb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q), r)))([a, b]);
  assert.ok(maxAbsDiff(bmm4(a, b).dataSync(), tf.matMul(a, b).dataSync()) < 1e-6);
  assert.deepEqual(ga.shape, a.shape);
  assert.deepEqual(gb.shape, b.shape);
  assert.ok(maxAbsDiff(ga.dataSync(), ra.dataSync()) < 1e-5, 'da');
  assert.ok(maxAbsDiff(gb.dataSync(), rb.dataSync()) < 1e-5, 'db');
  tf.dispose([a, b, r, ga, gb, ra, rb]);
});

test('fused attention (wasm kernels): values and gradients equal tf ops with built-in gradients; causal or not, rotary or not, packed qkv, packed sequences', () => {
  /** Independent reference: per-head transposes, built-in matMul/softmax, rotary from its formula. */
  const ref = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, H: number, causal: boolean, theta: number | null): tf.Tensor => {
    const [B, L, d] = q.shape;
    const dh = d / H;
    const heads = (t: tf.Tensor) => tf.transpose(t.reshape([B, L, H, dh]), [0, 2, 1, 3]);
    const rot = (x: tf.Tensor) => {
      if (theta === null) return x;
      const ang = Array.from({ length: L * dh }, (_, e) => Math.floor(e / dh) / Math.pow(theta, (2 * ((e % dh) % (dh / 2))) / dh));
      const c = tf.tensor2d(ang.map(Math.cos), [L, dh]);
      const s = tf.tensor2d(ang.map(Math.sin), [L, dh]);
      const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, dh / 2]);
      const x2 = tf.slice(x, [0, 0, 0, dh / 2], [-1, -1, -1, dh / 2]);
      return tf.add(tf.mul(x, c), tf.mul(tf.concat([tf.neg(x2), x1], 3), s));
    };
    let sc = tf.mul(tf.matMul(rot(heads(q)), rot(heads(k)), false, true), 1 / Math.sqrt(dh));
    if (causal) sc = tf.add(sc, tf.tensor2d(Array.from({ length: L * L }, (_, x) => (x % L > Math.floor(x / L) ? -1e9 : 0)), [L, L]));
    return tf.transpose(tf.matMul(tf.softmax(sc), heads(v)), [0, 2, 1, 3]).reshape([B, L, d]);
  };
  assert.ok(fusedAttentionActive(), 'the wasm backend uses the fused kernels');
  type Attn = (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor;
  /** Each candidate's value and gradients (through `grads`) against the reference's yr, gr. */
  const check = (candidates: [string, Attn][], [q, k, v]: tf.Tensor3D[], yr: tf.Tensor, gr: tf.Tensor[], grads: (f: Attn) => tf.Tensor[], tag: string) => {
    for (const [name, f] of candidates) {
      const yo = f(q, k, v);
      assert.ok(maxAbsDiff(yo.dataSync(), yr.dataSync()) < 1e-5, `${name} value ${tag}: ${maxAbsDiff(yo.dataSync(), yr.dataSync())}`);
      const go = grads(f);
      go.forEach((g, i) => assert.ok(maxAbsDiff(g.dataSync(), gr[i].dataSync()) < 1e-4, `${name} gradient ${'qkv'[i]} ${tag}: ${maxAbsDiff(g.dataSync(), gr[i].dataSync())}`));
      tf.dispose([yo, ...go]);
    }
  };
  for (const [B, H, L, dh, causal, theta] of [[2, 3, 7, 8, true, 10000], [1, 2, 16, 6, false, null], [3, 4, 24, 32, true, 10000], [2, 1, 9, 5, false, null], [2, 2, 13, 10, true, 100]] as const) {
    const d = H * dh;
    const mk = (seed: number) => tf.tensor3d(rand(B * L * d, seed), [B, L, d]);
    const q = mk(1 + L);
    const k = mk(2 + L);
    const v = mk(3 + L);
    const w = mk(4 + L); // a fixed cotangent: loss = Σ w ⊙ attention(q, k, v)
    const opts = { heads: H, causal, ...(theta === null ? {} : { rope: { theta } }) };
    const grads = (f: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D), w)))([q, k, v]);
    const tag = `${[B, H, L, dh, causal, theta]}`;
    const yr = ref(q, k, v, H, causal, theta);
    const gr = grads((a, b, c) => ref(a, b, c, H, causal, theta));
    const candidates: [string, (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor][] = [
      ['fused', (a, b, c) => multiHeadAttention(a, b, c, opts)],
      ['composed', (a, b, c) => composedAttention(a, b, c, opts)],
    ];
    if (theta === null) candidates.push(['packed', (a, b, c) => packedAttention(tf.concat([a, b, c], 2) as tf.Tensor3D, opts)]);
    check(candidates, [q, k, v], yr, gr, grads, tag);
    tf.dispose([q, k, v, w, yr, ...gr]);
  }
  // Packed sequences (seqStarts): each attends within itself, rotary positions restart at 0; the
  // reference runs every sequence on its own through the tf-ops attention above.
  for (const [H, dh, causal, theta, starts] of [[2, 8, true, 10000, [0, 5, 12, 13, 20]], [3, 6, false, null, [0, 9, 16]], [4, 32, true, 10000, [0, 37, 40, 64, 90]]] as const) {
    const d = H * dh;
    const N = starts[starts.length - 1];
    const mk = (seed: number) => tf.tensor3d(rand(N * d, seed), [1, N, d]);
    const [q, k, v, w] = [mk(51 + N), mk(52 + N), mk(53 + N), mk(54 + N)];
    const seqStarts = [...starts];
    const opts = { heads: H, causal, seqStarts, ...(theta === null ? {} : { rope: { theta } }) };
    const perSequence = (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => {
      const cut = (t: tf.Tensor3D, s: number) => tf.slice(t, [0, starts[s], 0], [1, starts[s + 1] - starts[s], d]) as tf.Tensor3D;
      return tf.concat(starts.slice(1).map((_, s) => ref(cut(a, s), cut(b, s), cut(c, s), H, causal, theta)), 1);
    };
    const grads = (f: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D), w)))([q, k, v]);
    const tag = `packed ${[H, dh, causal, theta]} starts ${starts}`;
    const yr = perSequence(q, k, v);
    const gr = grads(perSequence);
    const candidates: [string, (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor][] = [
      ['fused', (a, b, c) => multiHeadAttention(a, b, c, opts)],
      ['composed', (a, b, c) => composedAttention(a, b, c, opts)],
    ];
    check(candidates, [q, k, v], yr, gr, grads, tag);
    tf.dispose([q, k, v, w, yr, ...gr]);
  }
  assert.throws(() => multiHeadAttention(tf.zeros([1, 6, 4]) as tf.Tensor3D, tf.zeros([1, 6, 4]) as tf.Tensor3D, tf.zeros([1, 6, 4]) as tf.Tensor3D, { heads: 2, causal: true, seqStarts: [0, 4] }), /seqStarts must run from 0 to 6/);
});

test('gatherRows: rows gathered, gradient sums duplicate indices (plain-JS reference)', () => {
  const N = 5;
  const D = 3;
  const idx = [2, 0, 2, 2, 4, 0];
  const tableData = rand(N * D, 7);
  const rData = rand(idx.length * D, 8);
  const table = tf.tensor2d(tableData, [N, D]);
  const index = tf.tensor1d(idx, 'int32');
  const r = tf.tensor2d(rData, [idx.length, D]);
  const y = gatherRows(table, index);
  const expY = idx.flatMap((i) => Array.from(tableData.subarray(i * D, i * D + D)));
  assert.ok(maxAbsDiff(y.dataSync(), expY) === 0);
  const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, index), r)))([table]);
  const expG = new Float64Array(N * D);
  idx.forEach((row, m) => { for (let d = 0; d < D; d++) expG[row * D + d] += rData[m * D + d]; });
  assert.deepEqual(g.shape, [N, D]);
  assert.ok(maxAbsDiff(g.dataSync(), expG) < 1e-6, `gradient ${Array.from(g.dataSync())} vs ${Array.from(expG)}`);
  // Row 1 and 3 are never gathered: exactly zero gradient.
  for (const row of [1, 3]) for (let d = 0; d < D; d++) assert.equal(g.dataSync()[row * D + d], 0);
  tf.dispose([y, g, table, index, r]);
});

// ------------------------------------------------------------------------------ Qwen2 / MLLM

function tinyCfg(): ExperimentConfig {
  return presetConfig('tiny');
}

test('Qwen2 decoder is causal: changing a later token leaves earlier logits unchanged', () => {
  const cfg = tinyCfg();
  const V = 30;
  const m = new Mllm(cfg.student, cfg.vision.dim, V, 11);
  const base = [3, 7, 1, 9, 12, 4, 8, 21, 5, 6];
  const changed = [...base];
  changed[6] = 27;
  const mk = (tokens: number[]): EncodedSample => ({ id: 'c', tokens, visualStart: -1, isLabel: new Uint8Array(tokens.length) });
  const b1 = buildBatch([mk(base)], 0, 0, 0);
  const b2 = buildBatch([mk(changed)], 0, 0, 0);
  const l1 = m.forward(b1, null).logits;
  const l2 = m.forward(b2, null).logits;
  assert.deepEqual(l1.shape, [b1.L, V]);
  const a1 = l1.arraySync() as number[][];
  const a2 = l2.arraySync() as number[][];
  for (let i = 0; i < 6; i++) assert.ok(maxAbsDiff(a1[i], a2[i]) < 1e-6, `position ${i} (before the change) moved by ${maxAbsDiff(a1[i], a2[i])}`);
  for (let i = 6; i < base.length; i++) assert.ok(maxAbsDiff(a1[i], a2[i]) > 1e-4, `position ${i} (at/after the change) did not change`);
  tf.dispose([l1, l2]);
  disposeBatch(b1);
  disposeBatch(b2);
  m.dispose();
});

test('MLLM splice: the image changes logits only at and after the visual positions; batch composition does not matter', () => {
  const cfg = tinyCfg();
  const V = 30;
  const np = numPatches(cfg.vision);
  const pd = patchDim(cfg.vision);
  const vision = new VisionEncoder(cfg.vision, 5);
  const m = new Mllm(cfg.student, cfg.vision.dim, V, 6);
  const vs = 2;
  const tokens = [3, 4, ...new Array(np).fill(0), 5, 6, 7];
  const sample = (patches: Float32Array, id: string): EncodedSample => ({ id, tokens, visualStart: vs, isLabel: new Uint8Array(tokens.length), patches });
  const pA = Float32Array.from(rand(np * pd, 21), (v) => (v + 1) / 2);
  const pB = Float32Array.from(rand(np * pd, 22), (v) => (v + 1) / 2);
  const run = (samples: EncodedSample[]) => {
    const b = buildBatch(samples, np, pd, 0);
    const feats = vision.forward(b.patches!);
    const o = m.forward(b, feats);
    const out = { logits: o.logits.arraySync() as number[][], vis: o.visLogits!.arraySync() as number[][][], L: b.L };
    tf.dispose([feats, o.logits, o.visLogits!]);
    disposeBatch(b);
    return out;
  };
  const A = run([sample(pA, 'a')]);
  const B = run([sample(pB, 'b')]);
  for (let i = 0; i < vs; i++) assert.ok(maxAbsDiff(A.logits[i], B.logits[i]) < 1e-6, `prefix position ${i} depends on the image`);
  for (let i = vs; i < tokens.length; i++) assert.ok(maxAbsDiff(A.logits[i], B.logits[i]) > 1e-5, `position ${i} (visual or later) ignores the image`);
  // visLogits are the logits at the Np visual positions, unshifted.
  assert.equal(A.vis.length, 1);
  assert.equal(A.vis[0].length, np);
  for (let j = 0; j < np; j++) assert.ok(maxAbsDiff(A.vis[0][j], A.logits[vs + j]) === 0, `visLogits[${j}] is not the logit row at slot ${vs + j}`);
  // Second image of a mixed batch (text-only, A, B): its rows equal B alone (splice offsets k·Np are right).
  const text: EncodedSample = { id: 't', tokens: [8, 9, 10], visualStart: -1, isLabel: new Uint8Array(3) };
  const mixed = run([text, sample(pA, 'a'), sample(pB, 'b')]);
  assert.equal(mixed.L, B.L);
  for (let i = 0; i < tokens.length; i++) {
    assert.ok(maxAbsDiff(mixed.logits[2 * mixed.L + i], B.logits[i]) < 1e-4, `mixed batch row of image B, position ${i}`);
    assert.ok(maxAbsDiff(mixed.logits[mixed.L + i], A.logits[i]) < 1e-4, `mixed batch row of image A, position ${i}`);
  }
  assert.equal(mixed.vis.length, 2);
  assert.ok(maxAbsDiff(mixed.vis[1].flat(), B.vis[0].flat()) < 1e-4);
  vision.params.dispose();
  m.dispose();
});

/** Tiny vision encoder, student (seed 6) and teacher (seed 7) over a 30-token vocabulary. */
function tinyModels() {
  const cfg = tinyCfg();
  const V = 30;
  const np = numPatches(cfg.vision);
  const pd = patchDim(cfg.vision);
  const vision = new VisionEncoder(cfg.vision, 5);
  const student = new Mllm(cfg.student, cfg.vision.dim, V, 6);
  const teacher = new Mllm(cfg.teacher, cfg.vision.dim, V, 7);
  const dispose = () => {
    vision.params.dispose();
    student.dispose();
    teacher.dispose();
  };
  return { cfg, V, np, pd, vision, student, teacher, dispose };
}

test('forwardRows + kdLossRows equal forward + kdLoss on every position (values and gradients)', () => {
  const { V, np, pd, vision, student, teacher, dispose } = tinyModels();
  const img = (id: string, seed: number, extra: number[]): EncodedSample => {
    const tokens = [3, ...new Array(np).fill(0), ...extra];
    return { id, tokens, visualStart: 1, isLabel: Uint8Array.from(tokens, (_, i) => (i > np + 1 ? 1 : 0)), patches: Float32Array.from(rand(np * pd, seed), (v) => (v + 1) / 2) };
  };
  const text: EncodedSample = { id: 't', tokens: [8, 9, 10, 11], visualStart: -1, isLabel: Uint8Array.from([0, 1, 1, 1]) };
  const b = buildBatch([img('a', 41, [5, 6, 7]), text, img('b', 42, [12, 13, 14, 15, 16])], np, pd, 0);
  assert.equal(b.Nt, 2 + 3 + 4, 'response positions of the three samples');
  const feats = vision.forward(b.patches!);
  const weights = { ce: 1, res: 1, vis: 0.7, rel: 0.5 };
  const opts = { divergence: 'forward_kl' as const, temperature: 1, skewLambda: 0.1 };
  const vars = student.params.names(['projector.', 'lm.']).map((n) => student.params.get(n));
  const run = (rows: boolean) => {
    const termVals: Record<string, number> = {};
    const { grads } = tf.variableGrads(() => {
      let r;
      if (rows) {
        const s = student.forwardRows(b, feats);
        const t = teacher.forwardRows(b, feats);
        r = kdLossRows({ sRes: s.res, tRes: t.res, targets: b.targetIds, sVis: s.vis!, tVis: t.vis! }, weights, opts);
      } else {
        const s = student.forward(b, feats);
        const t = teacher.forward(b, feats);
        const shape = [b.B, b.L, V];
        r = kdLoss({ sLogits: s.logits.reshape(shape) as tf.Tensor3D, tLogits: t.logits.reshape(shape) as tf.Tensor3D, targets: b.targets, targetMask: b.targetMask, visualMask: b.visualMask, sVis: s.visLogits!, tVis: t.visLogits!, sampleMask: tf.ones([b.Bi]) }, weights, opts);
      }
      for (const [k, v] of Object.entries(r.terms)) termVals[k] = v.dataSync()[0];
      return r.total;
    }, vars);
    const g = Object.values(grads).map((x) => Array.from(x.dataSync()));
    tf.dispose(Object.values(grads));
    return { termVals, g };
  };
  const full = run(false);
  const rows = run(true);
  assert.deepEqual(Object.keys(rows.termVals).sort(), ['ce', 'rel', 'res', 'vis']);
  for (const k of Object.keys(full.termVals)) {
    assert.ok(Math.abs(rows.termVals[k] - full.termVals[k]) <= 1e-5 * Math.max(1, Math.abs(full.termVals[k])), `term ${k}: rows ${rows.termVals[k]} vs full ${full.termVals[k]}`);
  }
  full.g.forEach((gf, i) => assert.ok(maxAbsDiff(rows.g[i], gf) < 1e-5, `gradient ${i}`));
  tf.dispose(feats);
  disposeBatch(b);
  dispose();
});

test('all-text batch in DPT/DFT (γ ≠ 0): CE + α·L_res, no visual terms; a mixed batch keeps them', () => {
  const { cfg, np, pd, vision, student, teacher, dispose } = tinyModels();
  const weights = { ce: 1, res: 1, vis: 1, rel: 0.5 };
  const text = (id: string, tokens: number[]): EncodedSample => ({ id, tokens, visualStart: -1, isLabel: Uint8Array.from(tokens, (_, i) => (i >= 2 ? 1 : 0)) });
  const names = student.params.names(['projector.', 'lm.']);
  const before = tf.memory().numTensors - cachedTensorCount();
  const allText = buildBatch([text('a', [3, 4, 5, 6]), text('b', [7, 8, 9, 10, 11])], np, pd, 0);
  assert.equal(allText.Bi, 0);
  const r = mllmLossAndGrads(allText, vision, student, new OnlineTeacher(teacher), names, weights, cfg.distill);
  assert.deepEqual(Object.keys(r.terms).sort(), ['ce', 'res', 'total'], 'no visual terms for a batch without images');
  assert.ok(Math.abs(r.terms.total - (r.terms.ce! + r.terms.res!)) < 1e-6 * Math.max(1, r.terms.total), 'total = CE + α·L_res');
  assert.ok(r.terms.res! > 0, 'L_res is computed');
  assert.ok([...r.grads.values()].some((g) => tf.tidy(() => g.abs().max().dataSync()[0]) > 0), 'the student gets gradients');
  // The visual terms come back as soon as one sample of the batch has an image.
  const img: EncodedSample = { id: 'i', tokens: [3, ...new Array(np).fill(0), 5, 6], visualStart: 1, isLabel: Uint8Array.from([0, ...new Array(np).fill(0), 1, 1]), patches: Float32Array.from(rand(np * pd, 31), (v) => (v + 1) / 2) };
  const mixed = buildBatch([text('a', [3, 4, 5, 6]), img], np, pd, 0);
  const m = mllmLossAndGrads(mixed, vision, student, new OnlineTeacher(teacher), names, weights, cfg.distill);
  assert.deepEqual(Object.keys(m.terms).sort(), ['ce', 'rel', 'res', 'total', 'vis']);
  tf.dispose([...r.grads.values(), ...m.grads.values()]);
  disposeBatch(allText);
  disposeBatch(mixed);
  assert.equal(tf.memory().numTensors - cachedTensorCount(), before, 'no tensors leak');
  dispose();
});

// ------------------------------------------------------------------------------ schedule and optimizer

test('cosineLr: linear warm-up then cosine decay to minLrRatio·lr (hand-computed values)', () => {
  // total 105, warm-up round(105·0.05) = 5 steps, then 100 decay steps from 2 to 0.2.
  const lr = (s: number) => cosineLr(s, 105, 2, 0.05, 0.1);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(lr(0), 0.4);
  close(lr(1), 0.8);
  close(lr(4), 2);
  close(lr(5), 2); // decay starts at progress 0
  close(lr(30), 1.7363961030678927); // progress 0.25: 0.2 + 0.9·(1 + cos(π/4))
  close(lr(55), 1.1); // progress 0.5
  close(lr(80), 0.4636038969321073); // progress 0.75
  close(lr(104), 0.20044409567084157); // progress 0.99
  close(lr(105), 0.2);
  close(lr(500), 0.2); // clamped past the end
  // No warm-up: cosine from the first step.
  close(cosineLr(0, 10, 1, 0, 0), 1);
  close(cosineLr(3, 10, 1, 0, 0), 0.7938926261462366); // 0.5·(1 + cos(0.3π))
  close(cosineLr(5, 10, 1, 0, 0), 0.5);
  // Tiny stages: 3% of 10 steps rounds to 0, so one warm-up step at full lr.
  close(cosineLr(0, 10, 1e-3, 0.03, 0.1), 1e-3);
});

test('AdamW: two steps with clipping and decoupled weight decay equal a plain-JS reference; export/import resumes exactly', () => {
  const cfg = { lr: 123, weightDecay: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const lr = 0.01;
  const clip = 1;
  const p0 = { a: [1, -2], b: [0.5, 3] };
  const g1 = { a: [3, 0], b: [-4, 0] }; // global norm 5 > clip: scaled by 1/(5 + 1e-6)
  const g2 = { a: [0.1, -0.2], b: [0.05, 0.3] }; // norm ≈ 0.378: not clipped
  // Plain-JS float64 reference.
  const ref = { p: { a: [...p0.a], b: [...p0.b] }, m: { a: [0, 0], b: [0, 0] }, v: { a: [0, 0], b: [0, 0] } };
  const refStep = (g: typeof g1, t: number) => {
    const norm = Math.sqrt([...g.a, ...g.b].reduce((s, x) => s + x * x, 0));
    const scale = norm > clip ? clip / (norm + 1e-6) : 1;
    for (const k of ['a', 'b'] as const) {
      for (let i = 0; i < 2; i++) {
        const gi = g[k][i] * scale;
        ref.m[k][i] = 0.9 * ref.m[k][i] + 0.1 * gi;
        ref.v[k][i] = 0.999 * ref.v[k][i] + 0.001 * gi * gi;
        const mh = ref.m[k][i] / (1 - 0.9 ** t);
        const vh = ref.v[k][i] / (1 - 0.999 ** t);
        const old = ref.p[k][i];
        ref.p[k][i] = old - lr * (mh / (Math.sqrt(vh) + 1e-8)) - lr * 0.1 * old;
      }
    }
    return norm;
  };
  const params = new Map([['a', tf.variable(tf.tensor1d(p0.a))], ['b', tf.variable(tf.tensor1d(p0.b))]]);
  const grads = (g: typeof g1) => new Map([['a', tf.tensor1d(g.a)], ['b', tf.tensor1d(g.b)]]) as Map<string, tf.Tensor>;
  const opt = new AdamW(cfg);
  const n1 = opt.step(params, grads(g1), lr, clip);
  const r1 = refStep(g1, 1);
  assert.ok(Math.abs(n1 - 5) < 1e-6 && Math.abs(r1 - 5) < 1e-12, `norm ${n1}`);
  // Hand check of step 1: clipped Adam's first update is g/|g| per coordinate (0 where g = 0).
  assert.ok(Math.abs(params.get('a')!.dataSync()[0] - (1 - 0.01 - 0.001)) < 1e-6);
  assert.ok(Math.abs(params.get('a')!.dataSync()[1] - (-2 + 0.002)) < 1e-6);
  const saved = opt.export();
  assert.equal(saved.t, 1);
  const pSaved = { a: Float32Array.from(params.get('a')!.dataSync()), b: Float32Array.from(params.get('b')!.dataSync()) };
  const n2 = opt.step(params, grads(g2), lr, clip);
  const r2 = refStep(g2, 2);
  assert.ok(Math.abs(n2 - r2) < 1e-6, `norm ${n2} vs ${r2}`);
  for (const k of ['a', 'b'] as const) {
    assert.ok(maxAbsDiff(params.get(k)!.dataSync(), ref.p[k]) < 1e-6, `param ${k}: ${Array.from(params.get(k)!.dataSync())} vs ${ref.p[k]}`);
  }
  // Resume: a fresh optimizer importing step-1 state gives the identical step 2.
  const params2 = new Map([['a', tf.variable(tf.tensor1d(pSaved.a))], ['b', tf.variable(tf.tensor1d(pSaved.b))]]);
  const opt2 = new AdamW(cfg);
  opt2.import(saved.tensors, saved.t);
  opt2.step(params2, grads(g2), lr, clip);
  for (const k of ['a', 'b'] as const) assert.deepEqual(Array.from(params2.get(k)!.dataSync()), Array.from(params.get(k)!.dataSync()));
  opt.dispose();
  opt2.dispose();
  // An unknown parameter name is an error naming it.
  assert.throws(() => new AdamW(cfg).step(new Map(), new Map([['zz', tf.scalar(1)]]), lr, 0), /no parameter named 'zz'/);
});

/**
 * The plain-JS AdamW loop the kernel (kernels/adamw.ts) replaced, kept verbatim as its reference:
 * f64 arithmetic on the f32 values, the moments used at their f64 values, stored as f32.
 */
function jsLoopAdamW(w: Map<string, Float32Array>, g: Map<string, Float32Array>, m: Map<string, Float32Array>, v: Map<string, Float32Array>, t: number, lr: number, clipNorm: number, c: { beta1: number; beta2: number; eps: number; weightDecay: number }): number {
  const names = [...g.keys()].sort();
  let sq = 0;
  for (const n of names) for (const x of g.get(n)!) sq += x * x;
  const norm = Math.sqrt(sq);
  const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
  const bc1 = 1 - Math.pow(c.beta1, t);
  const bc2 = 1 - Math.pow(c.beta2, t);
  const decay = lr * c.weightDecay;
  for (const n of names) {
    const gn = g.get(n)!, mn = m.get(n)!, vn = v.get(n)!, wn = w.get(n)!;
    for (let i = 0; i < wn.length; i++) {
      const gi = gn[i] * scale;
      const mi = (mn[i] = c.beta1 * mn[i] + (1 - c.beta1) * gi);
      const vi = (vn[i] = c.beta2 * vn[i] + (1 - c.beta2) * gi * gi);
      const old = wn[i];
      wn[i] = old - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + c.eps)) - decay * old;
    }
  }
  return norm;
}

test('AdamW kernel: bit for bit the plain-JS loop (weights, moments, norms) over 6 steps, clipped and not, sizes off the SIMD width', () => {
  const cfg = { lr: 1, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8 };
  const shapes: Record<string, number[]> = { 'b.one': [1], 'a.odd': [3, 7], 'c.four': [4], 'd.big': [33, 31], 'e.row': [130] };
  const names = Object.keys(shapes);
  const size = (n: string) => shapes[n].reduce((a, b) => a * b, 1);
  const params = new Map(names.map((n, i) => [n, tf.variable(tf.tensor(rand(size(n), 10 + i), shapes[n]))]));
  const w = new Map(names.map((n) => [n, Float32Array.from(params.get(n)!.dataSync())]));
  const m = new Map(names.map((n) => [n, new Float32Array(size(n))]));
  const v = new Map(names.map((n) => [n, new Float32Array(size(n))]));
  const opt = new AdamW(cfg);
  for (let t = 1; t <= 6; t++) {
    // Gradients spanning magnitudes (tiny to large), so that rounding differences would show.
    const g = new Map(names.map((n, i) => [n, rand(size(n), 100 * t + i).map((x, j) => x * 10 ** ((j % 9) - 5))]));
    const lr = 1e-3 * t;
    const clip = t % 2 ? 0.5 : 0; // odd steps clip (the norms here are > 0.5), even ones do not
    const grads = new Map(names.map((n) => [n, tf.tensor(g.get(n)!, shapes[n])]));
    const ours = opt.step(params, grads, lr, clip);
    tf.dispose([...grads.values()]);
    const ref = jsLoopAdamW(w, g, m, v, t, lr, clip, cfg);
    assert.equal(ours, ref, `step ${t}: norm`);
    const state = opt.export().tensors;
    for (const n of names) {
      assert.deepEqual(new Uint32Array(Float32Array.from(params.get(n)!.dataSync()).buffer), new Uint32Array(w.get(n)!.buffer), `step ${t}: weights of ${n}`);
      assert.deepEqual(new Uint32Array((state[`m.${n}`].data as Float32Array).buffer), new Uint32Array(m.get(n)!.buffer), `step ${t}: m of ${n}`);
      assert.deepEqual(new Uint32Array((state[`v.${n}`].data as Float32Array).buffer), new Uint32Array(v.get(n)!.buffer), `step ${t}: v of ${n}`);
    }
  }
  opt.dispose();
  tf.dispose([...params.values()]);
});

// ------------------------------------------------------------------------------ stage plan

test('fullPlan: order, starting checkpoints, teacher and track ends', () => {
  const cfg = presetConfig('default');
  const plan = fullPlan(cfg);
  assert.deepEqual(plan.map((s) => s.id), ['vision/vision', 'teacher/pt', 'teacher/sft', 'student/lm', 'baseline/pt', 'baseline/sft', 'kd/dpt', 'kd/sft', 'kd/dft']);
  const by = Object.fromEntries(plan.map((s) => [s.id, s]));
  assert.deepEqual(
    plan.map((s) => [s.id, s.init, s.teacher, s.output, s.endsTrack, s.model]),
    [
      ['vision/vision', null, null, 'vision-vision', false, null],
      ['teacher/pt', null, null, 'teacher-pt', false, 'teacher'],
      ['teacher/sft', 'teacher-pt', null, 'teacher-sft', true, 'teacher'],
      ['student/lm', null, null, 'student-lm', false, 'student'],
      ['baseline/pt', 'student-lm', null, 'baseline-pt', false, 'student'],
      ['baseline/sft', 'baseline-pt', null, 'baseline-sft', true, 'student'],
      ['kd/dpt', 'student-lm', 'teacher-sft', 'kd-dpt', false, 'student'],
      ['kd/sft', 'kd-dpt', null, 'kd-sft', false, 'student'],
      ['kd/dft', 'kd-sft', 'teacher-sft', 'kd-dft', true, 'student'],
    ],
  );
  assert.equal(by['kd/dpt'].kind, 'dpt');
  // With the teacher's LM pre-training on, teacher/lm runs first and the teacher track starts from it.
  const withLm = presetConfig('default');
  withLm.teacher.lmPretrain = true;
  assert.deepEqual(fullPlan(withLm).slice(0, 3).map((s) => [s.id, s.init]), [['vision/vision', null], ['teacher/lm', null], ['teacher/pt', 'teacher-lm']]);
  // The teacher side (what the teacher store holds) uses the teacher's own stages and seed.
  withLm.seed = 5;
  withLm.teacher.seed = 2;
  const sideIds = fullPlan(withLm).filter(isTeacherSide).map((s) => s.id);
  assert.deepEqual(sideIds, ['vision/vision', 'teacher/lm', 'teacher/pt', 'teacher/sft']);
  const sft = fullPlan(withLm).find((s) => s.id === 'teacher/sft')!;
  assert.equal(stageConfig(withLm, sft), withLm.teacher.stages.sft);
  assert.equal(stageConfig(withLm, fullPlan(withLm).find((s) => s.id === 'kd/sft')!), withLm.stages.sft);
  assert.deepEqual([stageSeed(withLm, sft), stageSeed(withLm, { track: 'vision' }), stageSeed(withLm, { track: 'kd' })], [2, 2, 5]);
  // Without pre-training: no vision/LM stages, tracks start fresh; teacher = last teacher stage.
  const noPre = presetConfig('default');
  noPre.pipeline.pretrain = false;
  noPre.pipeline.teacher = ['pt'];
  noPre.pipeline.kd = ['pt', 'dft'];
  const p2 = fullPlan(noPre);
  assert.deepEqual(p2.map((s) => s.id), ['teacher/pt', 'baseline/pt', 'baseline/sft', 'kd/pt', 'kd/dft']);
  assert.deepEqual(p2.map((s) => s.init), [null, null, 'baseline-pt', null, 'kd-pt']);
  assert.equal(p2.find((s) => s.id === 'kd/dft')!.teacher, 'teacher-pt');
  assert.deepEqual(trainableModules('dpt'), ['projector']);
  assert.deepEqual(trainableModules('pt'), ['projector']);
  assert.deepEqual(trainableModules('sft'), ['projector', 'lm']);
  assert.deepEqual(trainableModules('dft'), ['projector', 'lm']);
  assert.deepEqual(trainableModules('lm'), ['lm']);
  assert.deepEqual(trainableModules('vision'), ['vision']);
});

test('selectStages: ids, tracks, pretrain and all keep plan order; unknown names are errors listing the valid ones', () => {
  const plan = fullPlan(presetConfig('default'));
  const ids = (spec?: string) => selectStages(plan, spec).map((s) => s.id);
  assert.deepEqual(ids(undefined), plan.map((s) => s.id));
  assert.deepEqual(ids('all'), plan.map((s) => s.id));
  // A track name takes every stage of the track; teacher-side adds the vision pre-training.
  assert.deepEqual(ids('kd/dft, teacher'), ['teacher/pt', 'teacher/sft', 'kd/dft']);
  assert.deepEqual(ids('teacher-side'), ['vision/vision', 'teacher/pt', 'teacher/sft']);
  assert.deepEqual(ids('kd'), ['kd/dpt', 'kd/sft', 'kd/dft']);
  assert.deepEqual(ids('kd/dft,kd/dft'), ['kd/dft']);
  assert.deepEqual(ids('pretrain'), ['vision/vision', 'student/lm']);
  assert.deepEqual(ids('baseline,pretrain'), ['vision/vision', 'student/lm', 'baseline/pt', 'baseline/sft']);
  assert.throws(() => ids('nonsense'), (e: Error) => {
    assert.match(e.message, /unknown stage 'nonsense'/);
    assert.match(e.message, /kd\/dft/);
    assert.match(e.message, /teacher, baseline, kd, pretrain/);
    return true;
  });
  assert.throws(() => ids('kd/dft,kd/xyz'), /unknown stage 'kd\/xyz'/);
});
