/**
 * Tests of src/trainer/losses (CE, MDist, RDist, kdLoss) against independent float64 references
 * written here from the formulas in docs/method.md, with finite-difference gradient checks, identities,
 * hand-computed cases, mask conventions, memory hygiene, and one cpu-vs-wasm comparison.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Divergence, LossWeights } from '../src/trainer/config/types';
import { DIVERGENCES, DIVERGENCE_FORMULAS, rowDivergence } from '../src/trainer/losses/divergence';
import {
  kdLoss, kdLossRows, maskedCrossEntropy, mdistResponse, mdistVisual, rdist, relationMatrix, useFusedRowTerms, type MdistOptions,
} from '../src/trainer/losses/kd';
import { mulberry32 } from '../src/common/random';

// ---------------------------------------------------------------- seeded random inputs

/** n normal(0, scale²) numbers, rounded to float32 so tf and the reference see identical inputs. */
function randn(n: number, seed: number, scale = 1): Float64Array {
  const rng = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng(), 1e-12);
    const v = rng();
    out[i] = Math.fround(scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

const t3 = (x: Float64Array, s: [number, number, number]): tf.Tensor3D => tf.tensor3d(Float32Array.from(x), s);
const t2 = (x: ArrayLike<number>, s: [number, number]): tf.Tensor2D => tf.tensor2d(Float32Array.from(x), s);

// ---------------------------------------------------------------- float64 references

/** log softmax of row `r` (length V) of x / T. */
function refLogSoftmax(x: Float64Array, r: number, V: number, T: number): Float64Array {
  const out = new Float64Array(V);
  let mx = -Infinity;
  for (let v = 0; v < V; v++) mx = Math.max(mx, x[r * V + v] / T);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[r * V + v] / T - mx);
  const lse = mx + Math.log(s);
  for (let v = 0; v < V; v++) out[v] = x[r * V + v] / T - lse;
  return out;
}

/** Divergence between p = softmax(t[r]/T) and q = softmax(s[r]/T), written from the formulas. */
function refDiv(t: Float64Array, s: Float64Array, r: number, V: number, kind: Divergence, T: number, lam: number): number {
  const lp = refLogSoftmax(t, r, V, T);
  const lq = refLogSoftmax(s, r, V, T);
  const p = lp.map(Math.exp);
  const q = lq.map(Math.exp);
  let d = 0;
  for (let v = 0; v < V; v++) {
    switch (kind) {
      case 'forward_kl': d += p[v] * Math.log(p[v] / q[v]); break;
      case 'reverse_kl': d += q[v] * Math.log(q[v] / p[v]); break;
      case 'js': {
        const m = (p[v] + q[v]) / 2;
        d += 0.5 * p[v] * Math.log(p[v] / m) + 0.5 * q[v] * Math.log(q[v] / m);
        break;
      }
      case 'tv': d += 0.5 * Math.abs(p[v] - q[v]); break;
      case 'skew_forward_kl': d += p[v] * Math.log(p[v] / (lam * p[v] + (1 - lam) * q[v])); break;
      case 'skew_reverse_kl': d += q[v] * Math.log(q[v] / (lam * q[v] + (1 - lam) * p[v])); break;
    }
  }
  return d;
}

/** Σ over rows i < N with mask = 1 of f(i), divided by max(Σ mask, 1). */
function maskedMean(N: number, mask: ArrayLike<number>, f: (i: number) => number): number {
  let num = 0;
  let cnt = 0;
  for (let i = 0; i < N; i++) {
    if (!mask[i]) continue;
    num += f(i);
    cnt += 1;
  }
  return num / Math.max(cnt, 1);
}

/** Σ mask·(−log softmax(logits[i])[targets[i]]) / max(Σ mask, 1) over N = B·L rows. */
function refCE(logits: Float64Array, targets: ArrayLike<number>, mask: ArrayLike<number>, N: number, V: number): number {
  return maskedMean(N, mask, (i) => -refLogSoftmax(logits, i, V, 1)[targets[i]]);
}

/** Mean of refDiv over rows with mask = 1. */
function refMdist(t: Float64Array, s: Float64Array, mask: ArrayLike<number>, N: number, V: number, o: MdistOptions): number {
  return maskedMean(N, mask, (i) => refDiv(t, s, i, V, o.divergence, o.temperature, o.skewLambda));
}

/** Mean over samples with sampleMask = 1 of 1 − cos(vec(Zs Zsᵀ), vec(Zt Ztᵀ)); exact (no eps). */
function refRdist(t: Float64Array, s: Float64Array, sm: ArrayLike<number>, B: number, Np: number, V: number): number {
  let num = 0;
  let cnt = 0;
  for (let b = 0; b < B; b++) {
    if (!sm[b]) continue;
    let dot = 0;
    let ns = 0;
    let nt = 0;
    for (let i = 0; i < Np; i++) {
      for (let j = 0; j < Np; j++) {
        let rs = 0;
        let rt = 0;
        for (let v = 0; v < V; v++) {
          rs += s[(b * Np + i) * V + v] * s[(b * Np + j) * V + v];
          rt += t[(b * Np + i) * V + v] * t[(b * Np + j) * V + v];
        }
        dot += rs * rt;
        ns += rs * rs;
        nt += rt * rt;
      }
    }
    num += 1 - dot / Math.sqrt(ns * nt);
    cnt += 1;
  }
  return num / Math.max(cnt, 1);
}

/** Central-difference gradient of f at x, in float64. */
function fdGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const y = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    y[i] = x[i] + h;
    const fp = f(y);
    y[i] = x[i] - h;
    const fm = f(y);
    y[i] = x[i];
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
}

/** ‖got − want‖ / ‖want‖. */
function normRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let d = 0;
  let n = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i] - want[i]) ** 2;
    n += want[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

function assertClose(got: number, want: number, tol: number, what: string): void {
  assert.ok(Number.isFinite(got), `${what}: got ${got}`);
  assert.ok(relErr(got, want) < tol, `${what}: got ${got}, want ${want}, rel err ${relErr(got, want)}`);
}

function value(x: tf.Tensor): number {
  const v = x.dataSync()[0];
  x.dispose();
  return v;
}

/** Gradient of the scalar f w.r.t. x, as a float array (tensors disposed). */
function tfGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Float32Array {
  const g = tf.grad(f)(x);
  const out = g.dataSync() as Float32Array;
  g.dispose();
  return Float32Array.from(out);
}

// ---------------------------------------------------------------- shapes used below

const B = 2, L = 5, V = 7, Np = 3;
const FKL: MdistOptions = { divergence: 'forward_kl', temperature: 1, skewLambda: 0.1 };

/** A 0/1 mask of n entries with roughly half ones, never all zero. */
function randMask(n: number, seed: number): Float64Array {
  const rng = mulberry32(seed);
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = rng() < 0.5 ? 1 : 0;
  m[0] = 1;
  return m;
}

before(async () => {
  await tf.setBackend('cpu');
});

// ---------------------------------------------------------------- values vs references

test('rowDivergence matches the float64 reference for every kind (T = 1 and T = 2)', () => {
  const N = 9;
  const t = randn(N * V, 1, 2);
  const s = randn(N * V, 2, 2);
  for (const kind of DIVERGENCES) {
    for (const T of [1, 2]) {
      const d = tf.tidy(() => rowDivergence(t2(t, [N, V]), t2(s, [N, V]), kind, T, 0.1).arraySync());
      assert.equal(d.length, N);
      for (let r = 0; r < N; r++) assertClose(d[r], refDiv(t, s, r, V, kind, T, 0.1), 1e-5, `${kind} T=${T} row ${r}`);
    }
  }
});

test('every divergence kind has a formula string', () => {
  for (const kind of DIVERGENCES) assert.ok(DIVERGENCE_FORMULAS[kind].length > 5, kind);
  assert.match(DIVERGENCE_FORMULAS.forward_kl, /p.*log p.*log q/);
  assert.match(DIVERGENCE_FORMULAS.skew_reverse_kl, /λq \+ \(1−λ\)p/);
});

test('maskedCrossEntropy, mdistResponse, mdistVisual, rdist match the references', () => {
  const sl = randn(B * L * V, 3, 2);
  const tl = randn(B * L * V, 4, 2);
  const targets = Array.from(randn(B * L, 5), (x) => Math.abs(Math.floor(x * 100)) % V);
  const tmask = randMask(B * L, 6);
  const vmask = randMask(B * L, 7);
  const sv = randn(B * Np * V, 8, 2);
  const tv = randn(B * Np * V, 9, 2);
  const got = tf.tidy(() => {
    const S = t3(sl, [B, L, V]);
    const T = t3(tl, [B, L, V]);
    return [
      value(maskedCrossEntropy(S, tf.tensor2d(targets, [B, L], 'int32'), t2(tmask, [B, L]))),
      value(mdistResponse(T, S, t2(tmask, [B, L]), FKL)),
      value(mdistVisual(T, S, t2(vmask, [B, L]), FKL)),
      value(rdist(t3(tv, [B, Np, V]), t3(sv, [B, Np, V]), tf.tensor1d([1, 1]))),
      value(rdist(t3(tv, [B, Np, V]), t3(sv, [B, Np, V]), tf.tensor1d([0, 1]))),
    ];
  });
  assertClose(got[0], refCE(sl, targets, tmask, B * L, V), 1e-5, 'CE');
  assertClose(got[1], refMdist(tl, sl, tmask, B * L, V, FKL), 1e-5, 'L_res');
  assertClose(got[2], refMdist(tl, sl, vmask, B * L, V, FKL), 1e-5, 'L_vis');
  assertClose(got[3], refRdist(tv, sv, [1, 1], B, Np, V), 1e-5, 'L_rel');
  assertClose(got[4], refRdist(tv, sv, [0, 1], B, Np, V), 1e-5, 'L_rel, sample 0 masked');
  assert.notEqual(got[3].toFixed(6), got[4].toFixed(6));
});

// ---------------------------------------------------------------- identities

test('identities: D(p, p) = 0, JS symmetric, TV in [0, 1]', () => {
  const N = 6;
  const a = randn(N * V, 10, 3);
  const b = randn(N * V, 11, 3);
  tf.tidy(() => {
    for (const kind of DIVERGENCES) {
      const same = rowDivergence(t2(a, [N, V]), t2(a, [N, V]), kind, 1.5, 0.1).arraySync();
      for (const x of same) assert.ok(Math.abs(x) < 1e-6, `${kind}(p, p) = ${x}`);
    }
    const ab = rowDivergence(t2(a, [N, V]), t2(b, [N, V]), 'js', 1, 0).arraySync();
    const ba = rowDivergence(t2(b, [N, V]), t2(a, [N, V]), 'js', 1, 0).arraySync();
    for (let r = 0; r < N; r++) {
      assert.ok(ab[r] > 1e-3, 'JS of different rows is positive');
      assertClose(ab[r], ba[r], 1e-5, `JS symmetric row ${r}`);
      assert.ok(ab[r] <= Math.LN2 + 1e-6, 'JS <= ln 2');
    }
    const tv = rowDivergence(t2(a, [N, V]), t2(b, [N, V]), 'tv', 1, 0).arraySync();
    for (const x of tv) assert.ok(x >= 0 && x <= 1, `TV ${x} in [0, 1]`);
    // Disjoint supports (numerically): TV -> 1.
    const far = rowDivergence(t2([60, 0], [1, 2]), t2([0, 60], [1, 2]), 'tv', 1, 0).arraySync();
    assert.ok(Math.abs(far[0] - 1) < 1e-6, `TV of disjoint = ${far[0]}`);
  });
});

test('rdist: 0 for proportional relation matrices, within [0, 2] otherwise, 0 for an empty sample mask', () => {
  const zs = randn(B * Np * V, 12, 2);
  const zt3 = zs.map((x) => Math.fround(3 * x)); // Rt = 9 Rs
  const ztNeg = zs.map((x) => -x); // Rt = Rs
  tf.tidy(() => {
    const S = t3(zs, [B, Np, V]);
    const one = tf.tensor1d([1, 1]);
    assert.ok(Math.abs(value(rdist(t3(zt3, [B, Np, V]), S, one))) < 1e-6);
    assert.ok(Math.abs(value(rdist(t3(ztNeg, [B, Np, V]), S, one))) < 1e-6);
    for (let seed = 20; seed < 30; seed++) {
      const r = value(rdist(t3(randn(B * Np * V, seed, 5), [B, Np, V]), S, one));
      assert.ok(r >= 0 && r <= 2, `rdist ${r} in [0, 2]`);
      assert.ok(r > 1e-4, 'unrelated matrices give a positive loss');
    }
    assert.equal(value(rdist(t3(zt3, [B, Np, V]), S, tf.tensor1d([0, 0]))), 0);
  });
});

test('teacher logits get no gradient; skew λ = 1 gives 0, λ outside [0, 1] is rejected', () => {
  const N = 3;
  const t = randn(N * V, 15, 2);
  const s = randn(N * V, 16, 2);
  tf.tidy(() => {
    const S = t2(s, [N, V]);
    for (const kind of DIVERGENCES) {
      const g = tfGrad((x) => tf.sum(rowDivergence(x as tf.Tensor2D, S, kind, 1, 0.1)), t2(t, [N, V]));
      assert.ok(g.every((x) => x === 0), `${kind}: teacher gradient is zero`);
    }
    const gv = tfGrad((x) => rdist(x as tf.Tensor3D, t3(s.subarray(0, Np * V), [1, Np, V]), tf.tensor1d([1])), t3(t.subarray(0, Np * V), [1, Np, V]));
    assert.ok(gv.every((x) => x === 0), 'rdist: teacher gradient is zero');
    for (const kind of ['skew_forward_kl', 'skew_reverse_kl'] as const) {
      const d = rowDivergence(t2(t, [N, V]), S, kind, 1, 1).arraySync();
      assert.ok(d.every((x) => x === 0), `${kind}, λ = 1`);
      assert.throws(() => rowDivergence(t2(t, [N, V]), S, kind, 1, 1.5), /distill\.skewLambda/);
    }
  });
});

// ---------------------------------------------------------------- hand-computed cases

test('hand-computed V = 2 case: KL, reverse KL, JS, TV, CE', () => {
  // Teacher logits [0, 0] -> p = (1/2, 1/2). Student logits [0, ln 3] -> q = (1/4, 3/4).
  // KL(p‖q)  = 1/2·ln((1/2)/(1/4)) + 1/2·ln((1/2)/(3/4)) = 1/2·ln 2 + 1/2·ln(2/3) = 1/2·ln(4/3) = 0.1438410362
  // KL(q‖p)  = 1/4·ln((1/4)/(1/2)) + 3/4·ln((3/4)/(1/2)) = −1/4·ln 2 + 3/4·ln(3/2)    = 0.1308120...
  // m = (3/8, 5/8): KL(p‖m) = 1/2·ln(4/3) + 1/2·ln(4/5) = 1/2·ln(16/15);
  //                 KL(q‖m) = 1/4·ln(2/3) + 3/4·ln(6/5);  JS = (KL(p‖m) + KL(q‖m)) / 2
  // TV = 1/2·(|1/2 − 1/4| + |1/2 − 3/4|) = 1/4
  // CE with target 1: −ln q₁ = −ln(3/4) = 0.2876820725
  const kl = 0.5 * Math.log(4 / 3);
  assert.ok(Math.abs(kl - 0.1438410362) < 1e-9);
  const rkl = -0.25 * Math.log(2) + 0.75 * Math.log(1.5);
  const js = 0.5 * (0.5 * Math.log(16 / 15) + (0.25 * Math.log(2 / 3) + 0.75 * Math.log(6 / 5)));
  const t = [0, 0];
  const s = [0, Math.log(3)];
  tf.tidy(() => {
    const d = (k: Divergence) => rowDivergence(t2(t, [1, 2]), t2(s, [1, 2]), k, 1, 0).arraySync()[0];
    assertClose(d('forward_kl'), kl, 1e-5, 'KL');
    assertClose(d('reverse_kl'), rkl, 1e-5, 'reverse KL');
    assertClose(d('js'), js, 1e-5, 'JS');
    assertClose(d('tv'), 0.25, 1e-5, 'TV');
    // skew with λ = 0 is plain KL
    assertClose(d('skew_forward_kl'), kl, 1e-5, 'skew KL, λ = 0');
    const ce = maskedCrossEntropy(tf.tensor3d(s, [1, 1, 2]), tf.tensor2d([1], [1, 1], 'int32'), tf.tensor2d([1], [1, 1]));
    assertClose(value(ce), -Math.log(0.75), 1e-5, 'CE');
  });
});

test('hand-computed rdist: Zs = I, Zt = [[1, 1], [0, 1]]', () => {
  // Rs = I; Rt = Zt Ztᵀ = [[2, 1], [1, 1]]; dot = 2 + 1 = 3; ‖Rs‖ = √2; ‖Rt‖ = √(4+1+1+1) = √7
  // L = 1 − 3 / (√2·√7) = 1 − 3/√14 = 0.1982233...
  const want = 1 - 3 / Math.sqrt(14);
  const got = tf.tidy(() => value(rdist(tf.tensor3d([1, 1, 0, 1], [1, 2, 2]), tf.tensor3d([1, 0, 0, 1], [1, 2, 2]), tf.tensor1d([1]))));
  assertClose(got, want, 1e-5, 'rdist');
});

// ---------------------------------------------------------------- mask conventions

test('response/CE positions are shifted (next-token), visual positions are not', () => {
  // One sequence, L = 6: [BOS] [img] [img] [question] [answer] [eos]
  // labels (−100 = ignored):  -100   -100   -100    -100      7       2    (answer and eos are targets)
  // Batch builder convention: position i predicts label[i+1], so
  //   targetMask = [0, 0, 0, 1, 1, 0] and targets[i] = tokens[i+1];
  // visual positions 1, 2 are used as they are: visualMask = [0, 1, 1, 0, 0, 0].
  const Lq = 6;
  const tokens = [1, 9, 9, 5, 7, 2];
  const labels = [-100, -100, -100, -100, 7, 2];
  const targetMask = labels.map((_, i) => (i + 1 < Lq && labels[i + 1] !== -100 ? 1 : 0));
  assert.deepEqual(targetMask, [0, 0, 0, 1, 1, 0]);
  const targets = tokens.map((_, i) => (i + 1 < Lq ? tokens[i + 1] : 0));
  const visualMask = [0, 1, 1, 0, 0, 0];
  const Vq = 10;
  const sl = randn(Lq * Vq, 40, 2);
  const tl = randn(Lq * Vq, 41, 2);
  const rowMean = (rows: number[]) => rows.reduce((a, r) => a + refDiv(tl, sl, r, Vq, 'forward_kl', 1, 0), 0) / rows.length;
  const got = tf.tidy(() => {
    const S = t3(sl, [1, Lq, Vq]);
    const T = t3(tl, [1, Lq, Vq]);
    return {
      res: value(mdistResponse(T, S, t2(targetMask, [1, Lq]), FKL)),
      vis: value(mdistVisual(T, S, t2(visualMask, [1, Lq]), FKL)),
      ce: value(maskedCrossEntropy(S, tf.tensor2d(targets, [1, Lq], 'int32'), t2(targetMask, [1, Lq]))),
    };
  });
  // L_res: positions 3 and 4 (they predict the answer and eos), not 4 and 5.
  assertClose(got.res, rowMean([3, 4]), 1e-5, 'L_res on shifted positions');
  assert.ok(Math.abs(rowMean([3, 4]) - rowMean([4, 5])) > 1e-2, 'the case discriminates the shift');
  // L_vis: positions 1 and 2 themselves, not 2 and 3 (a wrongly shifted visual mask).
  assertClose(got.vis, rowMean([1, 2]), 1e-5, 'L_vis on unshifted positions');
  assert.ok(Math.abs(rowMean([1, 2]) - rowMean([2, 3])) > 1e-2, 'the case discriminates the shift');
  // CE: −log q[3][7] − log q[4][2], averaged.
  const want = -(refLogSoftmax(sl, 3, Vq, 1)[7] + refLogSoftmax(sl, 4, Vq, 1)[2]) / 2;
  assertClose(got.ce, want, 1e-5, 'CE on shifted positions');
});

test('empty masks give 0 and no NaN (values and gradients); all-zero rdist inputs stay finite', () => {
  const sl = randn(B * L * V, 50, 2);
  const tl = randn(B * L * V, 51, 2);
  tf.tidy(() => {
    const S = t3(sl, [B, L, V]);
    const T = t3(tl, [B, L, V]);
    const zero = tf.zeros([B, L]) as tf.Tensor2D;
    const targets = tf.zeros([B, L], 'int32') as tf.Tensor2D;
    assert.equal(value(maskedCrossEntropy(S, targets, zero)), 0);
    assert.equal(value(mdistResponse(T, S, zero, FKL)), 0);
    assert.equal(value(mdistVisual(T, S, zero, FKL)), 0);
    const g = tfGrad((x) => mdistVisual(T, x as tf.Tensor3D, zero, FKL), S);
    assert.ok(g.every((x) => x === 0));
    const zv = tf.zeros([B, Np, V]) as tf.Tensor3D;
    const sv = t3(randn(B * Np * V, 52), [B, Np, V]);
    assert.equal(value(rdist(sv, sv, tf.tensor1d([0, 0]))), 0);
    // All-zero logits: cos = 0 by the eps convention, so L = 1, and the gradient is finite.
    assertClose(value(rdist(zv, zv, tf.tensor1d([1, 1]))), 1, 1e-6, 'rdist(0, 0)');
    const gz = tfGrad((x) => rdist(sv, x as tf.Tensor3D, tf.tensor1d([1, 1])), zv);
    assert.ok(gz.every(Number.isFinite), 'finite gradient at Zs = 0');
    const gz2 = tfGrad((x) => rdist(zv, x as tf.Tensor3D, tf.tensor1d([1, 1])), sv);
    assert.ok(gz2.every(Number.isFinite), 'finite gradient at Zt = 0');
  });
});

// ---------------------------------------------------------------- gradients vs finite differences

test('gradient of CE w.r.t. student logits matches finite differences', () => {
  const sl = randn(B * L * V, 60, 2);
  const targets = Array.from(randn(B * L, 61), (x) => Math.abs(Math.floor(x * 100)) % V);
  const mask = randMask(B * L, 62);
  const fd = fdGrad((x) => refCE(x, targets, mask, B * L, V), sl);
  const g = tf.tidy(() => tfGrad((x) => maskedCrossEntropy(x as tf.Tensor3D, tf.tensor2d(targets, [B, L], 'int32'), t2(mask, [B, L])), t3(sl, [B, L, V])));
  assert.ok(normRelErr(g, fd) < 1e-3, `CE grad rel err ${normRelErr(g, fd)}`);
});

test('gradient of each divergence kind w.r.t. student logits matches finite differences', () => {
  const N = 6;
  const t = randn(N * V, 70, 2);
  const s = randn(N * V, 71, 2);
  const w = randn(N, 72); // random row weights, so every row's gradient is checked
  for (const kind of DIVERGENCES) {
    for (const T of [1, 2]) {
      const ref = (x: Float64Array) => {
        let acc = 0;
        for (let r = 0; r < N; r++) acc += w[r] * refDiv(t, x, r, V, kind, T, 0.1);
        return acc;
      };
      const fd = fdGrad(ref, s);
      const g = tf.tidy(() => {
        const tt = t2(t, [N, V]);
        const ww = tf.tensor1d(Float32Array.from(w));
        return tfGrad((x) => tf.sum(tf.mul(rowDivergence(tt, x as tf.Tensor2D, kind, T, 0.1), ww)), t2(s, [N, V]));
      });
      const e = normRelErr(g, fd);
      assert.ok(e < 1e-3, `${kind} T=${T}: grad rel err ${e}`);
    }
  }
});

test('gradient of mdistVisual and mdistResponse (JS, T = 2) matches finite differences', () => {
  const sl = randn(B * L * V, 80, 2);
  const tl = randn(B * L * V, 81, 2);
  const mask = randMask(B * L, 82);
  for (const [name, fn] of [['mdistVisual', mdistVisual], ['mdistResponse', mdistResponse]] as const) {
    for (const o of [FKL, { divergence: 'js', temperature: 2, skewLambda: 0.1 } as MdistOptions]) {
      const fd = fdGrad((x) => refMdist(tl, x, mask, B * L, V, o), sl);
      const g = tf.tidy(() => {
        const T = t3(tl, [B, L, V]);
        return tfGrad((x) => fn(T, x as tf.Tensor3D, t2(mask, [B, L]), o), t3(sl, [B, L, V]));
      });
      assert.ok(normRelErr(g, fd) < 1e-3, `${name} ${o.divergence}: grad rel err ${normRelErr(g, fd)}`);
    }
  }
});

test('gradient of rdist w.r.t. student visual logits matches finite differences (masked sample gets 0)', () => {
  const sv = randn(B * Np * V, 90, 2);
  const tv = randn(B * Np * V, 91, 2);
  for (const sm of [[1, 1], [1, 0]]) {
    const fd = fdGrad((x) => refRdist(tv, x, sm, B, Np, V), sv);
    const g = tf.tidy(() => {
      const T = t3(tv, [B, Np, V]);
      return tfGrad((x) => rdist(T, x as tf.Tensor3D, tf.tensor1d(sm)), t3(sv, [B, Np, V]));
    });
    assert.ok(normRelErr(g, fd) < 1e-3, `rdist mask ${sm}: grad rel err ${normRelErr(g, fd)}`);
    if (sm[1] === 0) assert.ok(g.slice(Np * V).every((x) => x === 0));
  }
});

// ---------------------------------------------------------------- kdLoss

interface KdCase {
  sl: Float64Array; tl: Float64Array; sv: Float64Array; tv: Float64Array;
  targets: number[]; tmask: Float64Array; vmask: Float64Array;
}

function kdCase(seed: number): KdCase {
  // Sample 0 has an image at positions 0..Np-1; sample 1 is text-only (empty visual row).
  const vmask = new Float64Array(B * L);
  for (let i = 0; i < Np; i++) vmask[i] = 1;
  return {
    sl: randn(B * L * V, seed, 2), tl: randn(B * L * V, seed + 1, 2),
    sv: randn(B * Np * V, seed + 2, 2), tv: randn(B * Np * V, seed + 3, 2),
    targets: Array.from(randn(B * L, seed + 4), (x) => Math.abs(Math.floor(x * 100)) % V),
    tmask: randMask(B * L, seed + 5), vmask,
  };
}

function kdInputs(c: KdCase, teacher = true) {
  return {
    sLogits: t3(c.sl, [B, L, V]),
    tLogits: teacher ? t3(c.tl, [B, L, V]) : undefined,
    targets: tf.tensor2d(c.targets, [B, L], 'int32'),
    targetMask: t2(c.tmask, [B, L]),
    visualMask: t2(c.vmask, [B, L]),
    sVis: t3(c.sv, [B, Np, V]),
    tVis: teacher ? t3(c.tv, [B, Np, V]) : undefined,
  };
}

const PAPER: LossWeights = { ce: 1, res: 1, vis: 1, rel: 0.5 };

function refKd(c: KdCase, w: LossWeights, sl = c.sl, sv = c.sv): number {
  return w.ce * refCE(sl, c.targets, c.tmask, B * L, V)
    + w.res * refMdist(c.tl, sl, c.tmask, B * L, V, FKL)
    + w.vis * refMdist(c.tl, sl, c.vmask, B * L, V, FKL)
    + w.rel * refRdist(c.tv, sv, [1, 0], B, Np, V); // default sampleMask from visualMask: [1, 0]
}

test('kdLoss combines the terms with their weights (default sampleMask from visualMask)', () => {
  const c = kdCase(100);
  const r = tf.tidy(() => {
    const { total, terms } = kdLoss(kdInputs(c), PAPER, FKL);
    return { total: total.dataSync()[0], ce: terms.ce.dataSync()[0], res: terms.res!.dataSync()[0], vis: terms.vis!.dataSync()[0], rel: terms.rel!.dataSync()[0] };
  });
  assertClose(r.ce, refCE(c.sl, c.targets, c.tmask, B * L, V), 1e-5, 'ce');
  assertClose(r.res, refMdist(c.tl, c.sl, c.tmask, B * L, V, FKL), 1e-5, 'res');
  assertClose(r.vis, refMdist(c.tl, c.sl, c.vmask, B * L, V, FKL), 1e-5, 'vis');
  assertClose(r.rel, refRdist(c.tv, c.sv, [1, 0], B, Np, V), 1e-5, 'rel');
  assertClose(r.total, refKd(c, PAPER), 1e-5, 'total');
});

test('kdLoss computes only the terms it needs', () => {
  const c = kdCase(110);
  tf.tidy(() => {
    const noTeacher = kdLoss(kdInputs(c, false), PAPER, FKL);
    assert.deepEqual(Object.keys(noTeacher.terms), ['ce']);
    assertClose(noTeacher.total.dataSync()[0], refCE(c.sl, c.targets, c.tmask, B * L, V), 1e-5, 'CE only');
    const onlyRes = kdLoss(kdInputs(c), { ce: 1, res: 2, vis: 0, rel: 0 }, FKL);
    assert.deepEqual(Object.keys(onlyRes.terms).sort(), ['ce', 'res']);
    assertClose(onlyRes.total.dataSync()[0], refKd(c, { ce: 1, res: 2, vis: 0, rel: 0 }), 1e-5, 'CE + 2 L_res');
    // No visual-position logits (a batch without images): CE + α·L_res, whatever β and γ say.
    const { sVis: _s, tVis: _t, ...noVis } = kdInputs(c);
    const textOnly = kdLoss(noVis, PAPER, FKL);
    assert.deepEqual(Object.keys(textOnly.terms).sort(), ['ce', 'res']);
    assertClose(textOnly.total.dataSync()[0], refKd(c, { ...PAPER, vis: 0, rel: 0 }), 1e-5, 'CE + α L_res without images');
    const { tVis: _t2, ...onlyS } = kdInputs(c);
    assert.throws(() => kdLoss(onlyS, PAPER, FKL), /sVis and tVis/);
    assert.throws(() => kdLoss(kdInputs(c), { ...PAPER, rel: -1 }, FKL), /"rel"/);
    assert.throws(() => rowDivergence(t2([0, 0], [1, 2]), t2([0, 0, 0], [1, 3]), 'tv', 1, 0), /share the vocabulary/);
    assert.throws(() => rowDivergence(t2([0, 0], [1, 2]), t2([0, 0], [1, 2]), 'tv', 0, 0), /distill\.temperature/);
  });
});

test('gradient of kdLoss w.r.t. student logits and visual logits matches finite differences', () => {
  const c = kdCase(120);
  const fdL = fdGrad((x) => refKd(c, PAPER, x, c.sv), c.sl);
  const fdV = fdGrad((x) => refKd(c, PAPER, c.sl, x), c.sv);
  const [gL, gV] = tf.tidy(() => {
    const inp = kdInputs(c);
    const gs = tf.grads((s: tf.Tensor, v: tf.Tensor) => kdLoss({ ...inp, sLogits: s as tf.Tensor3D, sVis: v as tf.Tensor3D }, PAPER, FKL).total)([inp.sLogits, inp.sVis]);
    return gs.map((g) => Float32Array.from(g.dataSync()));
  });
  assert.ok(normRelErr(gL, fdL) < 1e-3, `dTotal/dsLogits rel err ${normRelErr(gL, fdL)}`);
  assert.ok(normRelErr(gV, fdV) < 1e-3, `dTotal/dsVis rel err ${normRelErr(gV, fdV)}`);
});

// ---------------------------------------------------------------- memory hygiene

test('no tensors leak from any loss function or its gradient', () => {
  const c = kdCase(130);
  const inp = kdInputs(c);
  const S2 = t2(c.sl.subarray(0, 4 * V), [4, V]);
  const T2 = t2(c.tl.subarray(0, 4 * V), [4, V]);
  const sm = tf.tensor1d([1, 1]);
  const calls: Array<[string, () => tf.Tensor[]]> = [
    ...DIVERGENCES.map((k): [string, () => tf.Tensor[]] => [k, () => [rowDivergence(T2, S2, k, 2, 0.1)]]),
    ['ce', () => [maskedCrossEntropy(inp.sLogits, inp.targets, inp.targetMask)]],
    ['res', () => [mdistResponse(inp.tLogits!, inp.sLogits, inp.targetMask, FKL)]],
    ['vis', () => [mdistVisual(inp.tLogits!, inp.sLogits, inp.visualMask, FKL)]],
    ['rel', () => [rdist(inp.tVis!, inp.sVis, sm)]],
    ['kdLoss', () => {
      const { total, terms } = kdLoss(inp, PAPER, FKL);
      return [total, ...Object.values(terms)];
    }],
    ['kdLoss grad', () => tf.grads((s: tf.Tensor, v: tf.Tensor) =>
      kdLoss({ ...inp, sLogits: s as tf.Tensor3D, sVis: v as tf.Tensor3D }, PAPER, FKL).total)([inp.sLogits, inp.sVis])],
  ];
  for (const [name, call] of calls) {
    const before = tf.memory().numTensors;
    const out = call();
    assert.ok(out.length > 0);
    tf.dispose(out);
    assert.equal(tf.memory().numTensors, before, `${name} leaked tensors`);
  }
  tf.dispose([S2, T2, sm, ...(Object.values(inp).filter((x) => x !== undefined) as tf.Tensor[])]);
});

// ---------------------------------------------------------------- wasm backend

test('wasm backend: every divergence kind and a kdLoss forward + grad match the cpu backend', async () => {
  const c = kdCase(140);
  const N = 4;
  const run = () => tf.tidy(() => {
    const out: number[][] = [];
    const T2 = t2(c.tl.subarray(0, N * V), [N, V]);
    const S2 = t2(c.sl.subarray(0, N * V), [N, V]);
    for (const k of DIVERGENCES) {
      out.push(Array.from(rowDivergence(T2, S2, k, 2, 0.1).dataSync()));
      out.push(Array.from(tf.grad((x: tf.Tensor) => tf.sum(rowDivergence(T2, x as tf.Tensor2D, k, 2, 0.1)))(S2).dataSync()));
    }
    const inp = kdInputs(c);
    for (const o of [FKL, { divergence: 'js', temperature: 2, skewLambda: 0.1 } as MdistOptions]) {
      const f = (s: tf.Tensor, v: tf.Tensor) => kdLoss({ ...inp, sLogits: s as tf.Tensor3D, sVis: v as tf.Tensor3D }, PAPER, o).total;
      const { value: tot, grads } = tf.valueAndGrads(f)([inp.sLogits, inp.sVis]);
      out.push([tot.dataSync()[0]], ...grads.map((g) => Array.from(g.dataSync())));
    }
    return out;
  });
  const onCpu = run();
  const distDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  setWasmPaths(distDir);
  try {
    assert.ok(await tf.setBackend('wasm'), 'wasm backend initialised');
    assert.equal(tf.getBackend(), 'wasm');
    const before = tf.memory().numTensors;
    const onWasm = run();
    assert.equal(tf.memory().numTensors, before, 'no leak on wasm');
    assert.equal(onWasm.length, onCpu.length);
    for (let i = 0; i < onCpu.length; i++) {
      assert.ok(onWasm[i].every(Number.isFinite), `wasm output ${i} finite`);
      const e = normRelErr(onWasm[i], onCpu[i]);
      assert.ok(e < 1e-5, `output ${i}: wasm vs cpu rel err ${e}`);
    }
    // The kdLoss total on wasm also matches the float64 reference.
    assertClose(onWasm[2 * DIVERGENCES.length][0], refKd(c, PAPER), 1e-5, 'wasm total vs reference');
  } finally {
    await tf.setBackend('cpu');
  }
});

test('kdLossRows: the fused forward-KL op equals the composed ops and the float64 reference (values and gradients; T = 1 and 2, shard share, tRel, text-only)', () => {
  const Nt = 6;
  const Bi = 2;
  const sr = randn(Nt * V, 301, 2);
  const tr = randn(Nt * V, 302, 2);
  const sv = randn(Bi * Np * V, 303, 2);
  const tv = randn(Bi * Np * V, 304, 2);
  const tv2 = randn(Bi * Np * V, 305, 2); // a different teacher for tRel: proves the op reads it
  const targets = Array.from({ length: Nt }, (_, i) => (i * 3 + 1) % V);
  const ones = (n: number) => new Float64Array(n).fill(1);
  let cases = 0;
  for (const T of [1, 2]) for (const withRel of [false, true]) for (const share of [undefined, { nt: 12, ni: 3 }]) for (const images of [true, false]) {
    const o: MdistOptions = { divergence: 'forward_kl', temperature: T, skewLambda: 0.1 };
    const tag = `T=${T} tRel=${withRel} share=${!!share} images=${images}`;
    const run = (fused: boolean) => {
      const was = useFusedRowTerms(fused);
      try {
        return tf.tidy(() => {
          const sRes = t2(sr, [Nt, V]);
          const sVis = t3(sv, [Bi, Np, V]);
          const inputs = (a: tf.Tensor, b?: tf.Tensor) => ({
            sRes: a as tf.Tensor2D, tRes: t2(tr, [Nt, V]), targets: tf.tensor1d(targets, 'int32'),
            ...(images ? { sVis: b as tf.Tensor3D, tVis: t3(tv, [Bi, Np, V]), ...(withRel ? { tRel: relationMatrix(t3(tv2, [Bi, Np, V])) } : {}) } : {}),
            ...(share ? { share } : {}),
          });
          const { terms } = kdLossRows(inputs(sRes, sVis), PAPER, o);
          const termVals = Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v.dataSync()[0]]));
          const f = images ? (a: tf.Tensor, b: tf.Tensor) => kdLossRows(inputs(a, b), PAPER, o).total : (a: tf.Tensor) => kdLossRows(inputs(a), PAPER, o).total;
          const { value: tot, grads } = tf.valueAndGrads(f)(images ? [sRes, sVis] : [sRes]);
          return { termVals, total: tot.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
        });
      } finally {
        useFusedRowTerms(was);
      }
    };
    const fused = run(true);
    const composed = run(false);
    const fr = share ? Nt / share.nt : 1;
    const fi = share ? Bi / share.ni : 1;
    const want: Record<string, number> = {
      ce: fr * refCE(sr, targets, ones(Nt), Nt, V),
      res: fr * refMdist(tr, sr, ones(Nt), Nt, V, o),
      ...(images ? { vis: fi * refMdist(tv, sv, ones(Bi * Np), Bi * Np, V, o), rel: fi * refRdist(withRel ? tv2 : tv, sv, [1, 1], Bi, Np, V) } : {}),
    };
    assert.deepEqual(Object.keys(fused.termVals).sort(), Object.keys(want).sort(), `${tag}: terms present`);
    for (const k of Object.keys(want)) {
      assertClose(fused.termVals[k], want[k], 1e-5, `${tag} fused ${k} vs float64 reference`);
      assertClose(fused.termVals[k], composed.termVals[k], 1e-5, `${tag} fused ${k} vs composed`);
    }
    assertClose(fused.total, composed.total, 1e-5, `${tag} total`);
    assert.equal(fused.grads.length, composed.grads.length);
    fused.grads.forEach((g, i) => {
      const e = normRelErr(g, composed.grads[i]);
      assert.ok(e < 1e-5, `${tag} gradient ${i}: fused vs composed rel err ${e}`);
    });
    cases++;
  }
  assert.equal(cases, 16);
});
