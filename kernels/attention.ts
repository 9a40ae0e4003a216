// Fused scaled-dot-product attention, forward and backward, in AssemblyScript with 128-bit SIMD.
// Compiled by `npm run build:kernels` (scripts/build-kernels.mjs) into
// src/trainer/nn/attentionWasm.generated.ts; used by src/trainer/nn/attention.ts on the wasm
// backend, whose batched matMul takes a scalar path for [B, H, L, dh] operands.
//
// Layout: q, k, v, o, dout, dq, dk, dv are [BH, L, dh] row-major f32; p is [BH, L, L] (the
// softmax probabilities, zero above the diagonal when causal); scratch holds L f32. Every pointer
// is a byte offset into this module's memory, which the caller fills and reads.

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

/** o = softmax(scale · q kᵀ [+ causal mask]) v per head; p keeps the probabilities. */
export function attentionForward(q: usize, k: usize, v: usize, o: usize, p: usize, bh: i32, L: i32, dh: i32, scale: f32, causal: i32): void {
  const row = <usize>dh << 2;
  for (let h = 0; h < bh; h++) {
    const base = <usize>h * <usize>L * row;
    const pbase = p + <usize>h * <usize>L * (<usize>L << 2);
    for (let i = 0; i < L; i++) {
      const qi = q + base + <usize>i * row;
      const prow = pbase + <usize>i * (<usize>L << 2);
      const jmax = causal ? i + 1 : L;
      let m: f32 = -Infinity;
      for (let j = 0; j < jmax; j++) {
        const s = dot(qi, k + base + <usize>j * row, dh) * scale;
        store<f32>(prow + (<usize>j << 2), s);
        if (s > m) m = s;
      }
      let sum: f32 = 0;
      for (let j = 0; j < jmax; j++) {
        const e = Mathf.exp(load<f32>(prow + (<usize>j << 2)) - m);
        store<f32>(prow + (<usize>j << 2), e);
        sum += e;
      }
      const inv: f32 = 1 / sum;
      for (let j = 0; j < jmax; j++) store<f32>(prow + (<usize>j << 2), load<f32>(prow + (<usize>j << 2)) * inv);
      for (let j = jmax; j < L; j++) store<f32>(prow + (<usize>j << 2), 0);
      const oi = o + base + <usize>i * row;
      memory.fill(oi, 0, row);
      for (let j = 0; j < jmax; j++) axpy(oi, v + base + <usize>j * row, load<f32>(prow + (<usize>j << 2)), dh);
    }
  }
}

/**
 * Gradients of attentionForward: dV = Pᵀ dO; dP = dO Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP));
 * dQ = scale · dS K; dK = scale · dSᵀ Q.
 */
export function attentionBackward(q: usize, k: usize, v: usize, p: usize, dout: usize, dq: usize, dk: usize, dv: usize, scratch: usize, bh: i32, L: i32, dh: i32, scale: f32, causal: i32): void {
  const row = <usize>dh << 2;
  const head = <usize>L * row;
  memory.fill(dk, 0, <usize>bh * head);
  memory.fill(dv, 0, <usize>bh * head);
  for (let h = 0; h < bh; h++) {
    const base = <usize>h * head;
    const pbase = p + <usize>h * <usize>L * (<usize>L << 2);
    for (let i = 0; i < L; i++) {
      const doi = dout + base + <usize>i * row;
      const qi = q + base + <usize>i * row;
      const prow = pbase + <usize>i * (<usize>L << 2);
      const jmax = causal ? i + 1 : L;
      let rd: f32 = 0;
      for (let j = 0; j < jmax; j++) {
        const dp = dot(doi, v + base + <usize>j * row, dh);
        store<f32>(scratch + (<usize>j << 2), dp);
        rd += load<f32>(prow + (<usize>j << 2)) * dp;
      }
      const dqi = dq + base + <usize>i * row;
      memory.fill(dqi, 0, row);
      for (let j = 0; j < jmax; j++) {
        const pij = load<f32>(prow + (<usize>j << 2));
        const ds = pij * (load<f32>(scratch + (<usize>j << 2)) - rd) * scale;
        axpy(dqi, k + base + <usize>j * row, ds, dh);
        axpy(dk + base + <usize>j * row, qi, ds, dh);
        axpy(dv + base + <usize>j * row, doi, pij, dh);
      }
    }
  }
}
