// The per-row parts of the LLaVA-KD loss terms on [rows, V] logits (CE and forward KL, values and
// gradients), in AssemblyScript with 128-bit SIMD. Compiled by `npm run build:kernels` into
// src/trainer/losses/rowLossesWasm.generated.ts; used by src/trainer/losses/fusedRows.ts, whose
// plain-JS loops spent ~4 ms a step in Math.exp at the default sizes. Every pointer is a byte
// offset into this module's memory (f32 rows of V values, i32 targets), which the caller fills
// and reads. Sums over a row accumulate in f32 lanes, totals over rows in f64.

import { exp1, exp4 } from './simdMath';

/** max of row x[0..V) */
@inline function rowMax(x: usize, V: i32): f32 {
  let vm = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= V; j += 4) vm = f32x4.max(vm, v128.load(x + (<usize>j << 2)));
  let m: f32 = Mathf.max(Mathf.max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), Mathf.max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  for (; j < V; j++) m = Mathf.max(m, load<f32>(x + (<usize>j << 2)));
  return m;
}

/**
 * out[j] = softmax(x · invT)[j] for one row; returns the log-normaliser
 * shift = max·invT + log Σ exp(x·invT − max·invT), so that log softmax = x·invT − shift.
 */
@inline function softmaxRow(x: usize, V: i32, invT: f32, out: usize): f32 {
  const mt = rowMax(x, V) * invT;
  const vt = f32x4.splat(invT);
  const vm = f32x4.splat(mt);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= V; j += 4) {
    const o = <usize>j << 2;
    const e = exp4(f32x4.sub(f32x4.mul(v128.load(x + o), vt), vm));
    v128.store(out + o, e);
    acc = f32x4.add(acc, e);
  }
  let z: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < V; j++) {
    const e = exp1(load<f32>(x + (<usize>j << 2)) * invT - mt);
    store<f32>(out + (<usize>j << 2), e);
    z += e;
  }
  const inv = f32x4.splat(1 / z);
  j = 0;
  for (; j + 4 <= V; j += 4) v128.store(out + (<usize>j << 2), f32x4.mul(v128.load(out + (<usize>j << 2)), inv));
  for (; j < V; j++) store<f32>(out + (<usize>j << 2), load<f32>(out + (<usize>j << 2)) / z);
  return mt + Mathf.log(z);
}

/**
 * Σ over rows of KL(p‖q), p = softmax(t·invT), q = softmax(s·invT); g (rows × V) receives
 * (q − p)·invT·gScale. p and q are scratch rows of V floats each.
 */
export function klRows(s: usize, t: usize, rows: i32, V: i32, invT: f32, g: usize, gScale: f32, p: usize, q: usize): f64 {
  let total: f64 = 0;
  const rowBytes = <usize>V << 2;
  const vt = f32x4.splat(invT);
  const vg = f32x4.splat(invT * gScale);
  for (let r = 0; r < rows; r++) {
    const sr = s + <usize>r * rowBytes;
    const tr = t + <usize>r * rowBytes;
    const gr = g + <usize>r * rowBytes;
    const sp = softmaxRow(tr, V, invT, p);
    const sq = softmaxRow(sr, V, invT, q);
    // log p − log q = (t − s)·invT − sp + sq
    const vc = f32x4.splat(sq - sp);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= V; j += 4) {
      const o = <usize>j << 2;
      const pj = v128.load(p + o);
      const diff = f32x4.add(f32x4.mul(f32x4.sub(v128.load(tr + o), v128.load(sr + o)), vt), vc);
      // p = 0 (underflow) contributes 0, never 0·(−inf)
      acc = f32x4.add(acc, v128.and(f32x4.mul(pj, diff), f32x4.gt(pj, f32x4.splat(0))));
      v128.store(gr + o, f32x4.mul(f32x4.sub(v128.load(q + o), pj), vg));
    }
    let kl: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (; j < V; j++) {
      const o = <usize>j << 2;
      const pj = load<f32>(p + o);
      if (pj > 0) kl += pj * ((load<f32>(tr + o) - load<f32>(sr + o)) * invT + sq - sp);
      store<f32>(gr + o, (load<f32>(q + o) - pj) * invT * gScale);
    }
    total += <f64>kl;
  }
  return total;
}

/**
 * Σ over rows of −log softmax(s)[target]; g receives (softmax(s) − onehot(target))·gScale. A
 * target outside [0, V) picks nothing: no loss, a zero gradient row. q is a scratch row.
 */
export function ceRows(s: usize, targets: usize, rows: i32, V: i32, g: usize, gScale: f32, q: usize): f64 {
  let total: f64 = 0;
  const rowBytes = <usize>V << 2;
  const vg = f32x4.splat(gScale);
  for (let r = 0; r < rows; r++) {
    const sr = s + <usize>r * rowBytes;
    const gr = g + <usize>r * rowBytes;
    const y = load<i32>(targets + (<usize>r << 2));
    if (y < 0 || y >= V) {
      memory.fill(gr, 0, rowBytes);
      continue;
    }
    const shift = softmaxRow(sr, V, 1, q);
    total += <f64>(shift - load<f32>(sr + (<usize>y << 2)));
    let j = 0;
    for (; j + 4 <= V; j += 4) v128.store(gr + (<usize>j << 2), f32x4.mul(v128.load(q + (<usize>j << 2)), vg));
    for (; j < V; j++) store<f32>(gr + (<usize>j << 2), load<f32>(q + (<usize>j << 2)) * gScale);
    store<f32>(gr + (<usize>y << 2), (load<f32>(q + (<usize>y << 2)) - 1) * gScale);
  }
  return total;
}

/** Σ x[0..n)·y[0..n) in f32 lanes. */
@inline function dotRow(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>j << 2)), v128.load(y + (<usize>j << 2))));
  let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < n; j++) s += load<f32>(x + (<usize>j << 2)) * load<f32>(y + (<usize>j << 2));
  return s;
}

/** R = Z Zᵀ of one image's Np rows of V (f64 out, Np × Np). */
@inline function gram(z: usize, Np: i32, V: i32, R: usize): void {
  const rowBytes = <usize>V << 2;
  for (let i = 0; i < Np; i++) {
    for (let k = i; k < Np; k++) {
      const v = <f64>dotRow(z + <usize>i * rowBytes, z + <usize>k * rowBytes, V);
      store<f64>(R + (<usize>(i * Np + k) << 3), v);
      store<f64>(R + (<usize>(k * Np + i) << 3), v);
    }
  }
}

/**
 * Σ over images of 1 − cos(vec Rs, vec Rt) with ‖R‖ = sqrt(‖R‖² + eps), Rs = Zs Zsᵀ and Rt = Zt Ztᵀ
 * (or, when rel ≠ 0, the teacher's f32 relation matrices stored there); g (Bi·Np × V) receives
 * 2·G·Zs·gScale per image, G = −invS·invT·(Rt − dot·invS²·Rs). rs, rt, G: scratch of Np·Np f64.
 */
export function relRows(zs: usize, zt: usize, rel: usize, Bi: i32, Np: i32, V: i32, eps: f64, g: usize, gScale: f32, rs: usize, rt: usize, G: usize): f64 {
  let total: f64 = 0;
  const imgBytes = <usize>(Np * V) << 2;
  const rowBytes = <usize>V << 2;
  const nn = Np * Np;
  for (let b = 0; b < Bi; b++) {
    const zb = zs + <usize>b * imgBytes;
    gram(zb, Np, V, rs);
    if (rel) {
      for (let e = 0; e < nn; e++) store<f64>(rt + (<usize>e << 3), <f64>load<f32>(rel + (<usize>(b * nn + e) << 2)));
    } else {
      gram(zt + <usize>b * imgBytes, Np, V, rt);
    }
    let dot: f64 = 0;
    let ss: f64 = 0;
    let tt: f64 = 0;
    for (let e = 0; e < nn; e++) {
      const a = load<f64>(rs + (<usize>e << 3));
      const c = load<f64>(rt + (<usize>e << 3));
      dot += a * c;
      ss += a * a;
      tt += c * c;
    }
    const invS = 1 / Math.sqrt(ss + eps);
    const invT = 1 / Math.sqrt(tt + eps);
    total += 1 - dot * invS * invT;
    for (let e = 0; e < nn; e++) {
      store<f64>(G + (<usize>e << 3), -invS * invT * (load<f64>(rt + (<usize>e << 3)) - dot * invS * invS * load<f64>(rs + (<usize>e << 3))));
    }
    for (let i = 0; i < Np; i++) {
      const gi = g + <usize>b * imgBytes + <usize>i * rowBytes;
      memory.fill(gi, 0, rowBytes);
      for (let k = 0; k < Np; k++) {
        const c = <f32>(2 * load<f64>(G + (<usize>(i * Np + k) << 3))) * gScale;
        const vc = f32x4.splat(c);
        const zk = zb + <usize>k * rowBytes;
        let j = 0;
        for (; j + 4 <= V; j += 4) {
          const o = <usize>j << 2;
          v128.store(gi + o, f32x4.add(v128.load(gi + o), f32x4.mul(vc, v128.load(zk + o))));
        }
        for (; j < V; j++) store<f32>(gi + (<usize>j << 2), load<f32>(gi + (<usize>j << 2)) + c * load<f32>(zk + (<usize>j << 2)));
      }
    }
  }
  return total;
}
