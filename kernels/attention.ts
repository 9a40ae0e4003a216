// Fused multi-head scaled-dot-product attention (forward and backward) and rotary embeddings, in
// AssemblyScript with 128-bit SIMD. Compiled by `npm run build:kernels` (scripts/build-kernels.mjs)
// into src/trainer/nn/attentionWasm.generated.ts; used by src/trainer/nn/attention.ts on the wasm
// backend, whose batched matMul takes a scalar path for per-head operands and whose slices,
// concats and transposes cost more than the attention itself at our sizes.
//
// Layout: the operands are rows of a [B, L, ·] tensor, the H heads side by side on the last axis
// as the projections produce them: head h of position i of sample b is the dh floats at
// ((b·L + i)·ld + h·dh). q, k, v (and dq, dk, dv) share the row stride ld (a packed [B, L, 3·H·dh]
// qkv has ld = 3·H·dh and k, v at offsets H·dh, 2·H·dh); o and dout have the stride ldo. p is
// [B·H, L, L] (the softmax probabilities, zero above the diagonal when causal); scratch holds L
// f32. Every pointer is a byte offset into this module's memory, which the caller fills and reads.

import { exp1, exp4 } from './simdMath';

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/** y[0..n) += a · x[0..n) */
@inline function axpy(y: usize, x: usize, a: f32, n: i32): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

/** The four dot products a·b0 … a·b3 of length n, as the lanes of one vector (a loaded once). */
@inline function dot4(a: usize, b0: usize, b1: usize, b2: usize, b3: usize, n: i32): v128 {
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let c2 = f32x4.splat(0);
  let c3 = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(a + o);
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(b0 + o)));
    c1 = f32x4.add(c1, f32x4.mul(x, v128.load(b1 + o)));
    c2 = f32x4.add(c2, f32x4.mul(x, v128.load(b2 + o)));
    c3 = f32x4.add(c3, f32x4.mul(x, v128.load(b3 + o)));
  }
  // Transpose-and-add: lane t = the sum of c_t's lanes.
  const s01 = f32x4.add(v128.shuffle<f32>(c0, c1, 0, 4, 2, 6), v128.shuffle<f32>(c0, c1, 1, 5, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(c2, c3, 0, 4, 2, 6), v128.shuffle<f32>(c2, c3, 1, 5, 3, 7));
  let r = f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
  for (; i < n; i++) {
    const x = load<f32>(a + (<usize>i << 2));
    r = f32x4.add(r, f32x4.mul(f32x4.splat(x), f32x4(load<f32>(b0 + (<usize>i << 2)), load<f32>(b1 + (<usize>i << 2)), load<f32>(b2 + (<usize>i << 2)), load<f32>(b3 + (<usize>i << 2)))));
  }
  return r;
}

/** y[0..n) += a0·x0 + a1·x1 + a2·x2 + a3·x3 (y loaded and stored once). */
@inline function axpy4(y: usize, x0: usize, x1: usize, x2: usize, x3: usize, a: v128, n: i32): void {
  const a0 = f32x4.splat(f32x4.extract_lane(a, 0));
  const a1 = f32x4.splat(f32x4.extract_lane(a, 1));
  const a2 = f32x4.splat(f32x4.extract_lane(a, 2));
  const a3 = f32x4.splat(f32x4.extract_lane(a, 3));
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let acc = v128.load(y + o);
    acc = f32x4.add(acc, f32x4.mul(a0, v128.load(x0 + o)));
    acc = f32x4.add(acc, f32x4.mul(a1, v128.load(x1 + o)));
    acc = f32x4.add(acc, f32x4.mul(a2, v128.load(x2 + o)));
    acc = f32x4.add(acc, f32x4.mul(a3, v128.load(x3 + o)));
    v128.store(y + o, acc);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + f32x4.extract_lane(a, 0) * load<f32>(x0 + o) + f32x4.extract_lane(a, 1) * load<f32>(x1 + o) + f32x4.extract_lane(a, 2) * load<f32>(x2 + o) + f32x4.extract_lane(a, 3) * load<f32>(x3 + o));
  }
}

/** y1 += a1·x1 and y2 += a2·x2 in one pass. */
@inline function axpy2(y1: usize, x1: usize, a1: f32, y2: usize, x2: usize, a2: f32, n: i32): void {
  const v1 = f32x4.splat(a1);
  const v2 = f32x4.splat(a2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y1 + o, f32x4.add(v128.load(y1 + o), f32x4.mul(v1, v128.load(x1 + o))));
    v128.store(y2 + o, f32x4.add(v128.load(y2 + o), f32x4.mul(v2, v128.load(x2 + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y1 + o, load<f32>(y1 + o) + a1 * load<f32>(x1 + o));
    store<f32>(y2 + o, load<f32>(y2 + o) + a2 * load<f32>(x2 + o));
  }
}

/** Byte address of head h of position i of sample b. */
@inline function rowAt(base: usize, b: i32, i: i32, h: i32, L: i32, ld: i32, dh: i32): usize {
  return base + ((<usize>(b * L + i) * <usize>ld + <usize>(h * dh)) << 2);
}

/** o = softmax(scale · q kᵀ [+ causal mask]) v per sample and head; p keeps the probabilities. */
export function attentionForward(q: usize, k: usize, v: usize, ld: i32, o: usize, ldo: i32, p: usize, B: i32, H: i32, L: i32, dh: i32, scale: f32, causal: i32): void {
  const prowBytes = <usize>L << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const pbase = p + <usize>(b * H + h) * <usize>L * prowBytes;
      for (let i = 0; i < L; i++) {
        const qi = rowAt(q, b, i, h, L, ld, dh);
        const prow = pbase + <usize>i * prowBytes;
        const jmax = causal ? i + 1 : L;
        let vmax = f32x4.splat(-Infinity);
        let j0 = 0;
        for (; j0 + 4 <= jmax; j0 += 4) {
          const s4 = f32x4.mul(dot4(qi, rowAt(k, b, j0, h, L, ld, dh), rowAt(k, b, j0 + 1, h, L, ld, dh), rowAt(k, b, j0 + 2, h, L, ld, dh), rowAt(k, b, j0 + 3, h, L, ld, dh), dh), f32x4.splat(scale));
          v128.store(prow + (<usize>j0 << 2), s4);
          vmax = f32x4.max(vmax, s4);
        }
        let m: f32 = Mathf.max(Mathf.max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), Mathf.max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
        for (; j0 < jmax; j0++) {
          const s = dot(qi, rowAt(k, b, j0, h, L, ld, dh), dh) * scale;
          store<f32>(prow + (<usize>j0 << 2), s);
          if (s > m) m = s;
        }
        const vm = f32x4.splat(m);
        let acc = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= jmax; j += 4) {
          const at = prow + (<usize>j << 2);
          const e = exp4(f32x4.sub(v128.load(at), vm));
          v128.store(at, e);
          acc = f32x4.add(acc, e);
        }
        let sum: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; j < jmax; j++) {
          const e = exp1(load<f32>(prow + (<usize>j << 2)) - m);
          store<f32>(prow + (<usize>j << 2), e);
          sum += e;
        }
        const inv: f32 = 1 / sum;
        for (let t = 0; t < jmax; t++) store<f32>(prow + (<usize>t << 2), load<f32>(prow + (<usize>t << 2)) * inv);
        for (let t = jmax; t < L; t++) store<f32>(prow + (<usize>t << 2), 0);
        const oi = rowAt(o, b, i, h, L, ldo, dh);
        memory.fill(oi, 0, <usize>dh << 2);
        let t = 0;
        for (; t + 4 <= jmax; t += 4) axpy4(oi, rowAt(v, b, t, h, L, ld, dh), rowAt(v, b, t + 1, h, L, ld, dh), rowAt(v, b, t + 2, h, L, ld, dh), rowAt(v, b, t + 3, h, L, ld, dh), v128.load(prow + (<usize>t << 2)), dh);
        for (; t < jmax; t++) axpy(oi, rowAt(v, b, t, h, L, ld, dh), load<f32>(prow + (<usize>t << 2)), dh);
      }
    }
  }
}

/**
 * Gradients of attentionForward: dV = Pᵀ dO; dP = dO Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP));
 * dQ = scale · dS K; dK = scale · dSᵀ Q. dq, dk, dv have q's layout and are written whole
 * (the caller zeroes the regions they span).
 */
export function attentionBackward(q: usize, k: usize, v: usize, ld: i32, p: usize, dout: usize, ldo: i32, dq: usize, dk: usize, dv: usize, scratch: usize, B: i32, H: i32, L: i32, dh: i32, scale: f32, causal: i32): void {
  const prowBytes = <usize>L << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const pbase = p + <usize>(b * H + h) * <usize>L * prowBytes;
      for (let i = 0; i < L; i++) {
        const doi = rowAt(dout, b, i, h, L, ldo, dh);
        const qi = rowAt(q, b, i, h, L, ld, dh);
        const prow = pbase + <usize>i * prowBytes;
        const jmax = causal ? i + 1 : L;
        let vrd = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= jmax; j += 4) {
          const dp4 = dot4(doi, rowAt(v, b, j, h, L, ld, dh), rowAt(v, b, j + 1, h, L, ld, dh), rowAt(v, b, j + 2, h, L, ld, dh), rowAt(v, b, j + 3, h, L, ld, dh), dh);
          v128.store(scratch + (<usize>j << 2), dp4);
          vrd = f32x4.add(vrd, f32x4.mul(v128.load(prow + (<usize>j << 2)), dp4));
        }
        let rd: f32 = f32x4.extract_lane(vrd, 0) + f32x4.extract_lane(vrd, 1) + f32x4.extract_lane(vrd, 2) + f32x4.extract_lane(vrd, 3);
        for (; j < jmax; j++) {
          const dp = dot(doi, rowAt(v, b, j, h, L, ld, dh), dh);
          store<f32>(scratch + (<usize>j << 2), dp);
          rd += load<f32>(prow + (<usize>j << 2)) * dp;
        }
        // ds_j = p_ij (dp_j − rd) · scale, written over dp in scratch.
        const vrd4 = f32x4.splat(rd);
        const vsc = f32x4.splat(scale);
        j = 0;
        for (; j + 4 <= jmax; j += 4) {
          const at = <usize>j << 2;
          v128.store(scratch + at, f32x4.mul(f32x4.mul(v128.load(prow + at), f32x4.sub(v128.load(scratch + at), vrd4)), vsc));
        }
        for (; j < jmax; j++) store<f32>(scratch + (<usize>j << 2), load<f32>(prow + (<usize>j << 2)) * (load<f32>(scratch + (<usize>j << 2)) - rd) * scale);
        const dqi = rowAt(dq, b, i, h, L, ld, dh);
        j = 0;
        for (; j + 4 <= jmax; j += 4) axpy4(dqi, rowAt(k, b, j, h, L, ld, dh), rowAt(k, b, j + 1, h, L, ld, dh), rowAt(k, b, j + 2, h, L, ld, dh), rowAt(k, b, j + 3, h, L, ld, dh), v128.load(scratch + (<usize>j << 2)), dh);
        for (; j < jmax; j++) axpy(dqi, rowAt(k, b, j, h, L, ld, dh), load<f32>(scratch + (<usize>j << 2)), dh);
        for (let t = 0; t < jmax; t++) {
          axpy2(rowAt(dk, b, t, h, L, ld, dh), qi, load<f32>(scratch + (<usize>t << 2)), rowAt(dv, b, t, h, L, ld, dh), doi, load<f32>(prow + (<usize>t << 2)), dh);
        }
      }
    }
  }
}

/**
 * Rotary embedding (rotate-half, as in Qwen2) of every head of x, in place: with x1, x2 the two
 * halves of a head and c, s the tables at its position, x ← [x1·c − x2·s, x1·s + x2·c]. sign −1
 * applies the inverse rotation (the backward pass: the rotation is orthogonal).
 * @param cos, sin [L, dh/2] tables
 */
export function rope(x: usize, ld: i32, cos: usize, sin: usize, B: i32, L: i32, H: i32, dh: i32, sign: f32): void {
  const half = dh >> 1;
  const hb = <usize>half << 2;
  const vsign = f32x4.splat(sign);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const ct = cos + <usize>i * hb;
      const st = sin + <usize>i * hb;
      for (let h = 0; h < H; h++) {
        const r = rowAt(x, b, i, h, L, ld, dh);
        let c = 0;
        for (; c + 4 <= half; c += 4) {
          const o = <usize>c << 2;
          const x1 = v128.load(r + o);
          const x2 = v128.load(r + hb + o);
          const cs = v128.load(ct + o);
          const sn = f32x4.mul(v128.load(st + o), vsign);
          v128.store(r + o, f32x4.sub(f32x4.mul(x1, cs), f32x4.mul(x2, sn)));
          v128.store(r + hb + o, f32x4.add(f32x4.mul(x1, sn), f32x4.mul(x2, cs)));
        }
        for (; c < half; c++) {
          const o = <usize>c << 2;
          const x1 = load<f32>(r + o);
          const x2 = load<f32>(r + hb + o);
          const cs = load<f32>(ct + o);
          const sn = load<f32>(st + o) * sign;
          store<f32>(r + o, x1 * cs - x2 * sn);
          store<f32>(r + hb + o, x1 * sn + x2 * cs);
        }
      }
    }
  }
}
