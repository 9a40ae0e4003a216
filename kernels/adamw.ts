// AdamW's arithmetic for one parameter tensor, in AssemblyScript with 128-bit SIMD (two f64 lanes).
// Compiled by `npm run build:kernels` into src/trainer/train/adamwWasm.generated.ts; used by
// src/trainer/train/adamw.ts, whose plain-JS loops took ~7 ms of the teacher's ~100 ms step at the
// default sizes. Bit-identical to those loops (src/trainer/train/adamwReference.ts, tested): every
// value is the f32 stored value widened to f64, the same IEEE f64 operations (+ − × ÷ √, each
// correctly rounded in both) in the same order, the moments kept at their f64 values within an
// element's update and stored rounded to f32, as the JS loop does. Every pointer is a byte offset
// into this module's memory (f32 arrays of n values), which the caller fills and reads.

/** acc + Σ g[i]² over i in order, in f64 (the sequential sum the JS loop computes: not reordered). */
export function sumSquares(g: usize, n: i32, acc: f64): f64 {
  let s = acc;
  for (let i = 0; i < n; i++) {
    const x = <f64>load<f32>(g + (<usize>i << 2));
    s += x * x;
  }
  return s;
}

/** Lanes 2 and 3 of an f32x4 moved to 0 and 1 (to widen the high half). */
@inline function high(x: v128): v128 {
  return v128.shuffle<f32>(x, x, 2, 3, 0, 1);
}

/** Two f64x2 narrowed to one f32x4 (lanes a0 a1 b0 b1). */
@inline function narrow(a: v128, b: v128): v128 {
  return v128.shuffle<i64>(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 2);
}

/**
 * One AdamW update of n elements in place: m, v (the moments) and w (the weights) from the
 * gradient g, as adamwReference.ts writes it:
 *   gi = g·scale; m = β1·m + (1−β1)·gi; v = β2·v + (1−β2)·gi·gi;
 *   w = w − lr·((m/bc1)/(√(v/bc2)+eps)) − decay·w.
 * `c1` = 1−β1 and `c2` = 1−β2 as the caller computes them in f64.
 */
export function update(g: usize, m: usize, v: usize, w: usize, n: i32, scale: f64, beta1: f64, c1: f64, beta2: f64, c2: f64, bc1: f64, bc2: f64, lr: f64, eps: f64, decay: f64): void {
  const vs = f64x2.splat(scale), vb1 = f64x2.splat(beta1), vc1 = f64x2.splat(c1), vb2 = f64x2.splat(beta2), vc2 = f64x2.splat(c2);
  const vbc1 = f64x2.splat(bc1), vbc2 = f64x2.splat(bc2), vlr = f64x2.splat(lr), veps = f64x2.splat(eps), vdecay = f64x2.splat(decay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g4 = v128.load(g + o), m4 = v128.load(m + o), v4 = v128.load(v + o), w4 = v128.load(w + o);
    // low two lanes
    const gl = f64x2.mul(f64x2.promote_low_f32x4(g4), vs);
    const ml = f64x2.add(f64x2.mul(vb1, f64x2.promote_low_f32x4(m4)), f64x2.mul(vc1, gl));
    const vl = f64x2.add(f64x2.mul(vb2, f64x2.promote_low_f32x4(v4)), f64x2.mul(f64x2.mul(vc2, gl), gl));
    const wol = f64x2.promote_low_f32x4(w4);
    const wl = f64x2.sub(f64x2.sub(wol, f64x2.mul(vlr, f64x2.div(f64x2.div(ml, vbc1), f64x2.add(f64x2.sqrt(f64x2.div(vl, vbc2)), veps)))), f64x2.mul(vdecay, wol));
    // high two lanes
    const gh = f64x2.mul(f64x2.promote_low_f32x4(high(g4)), vs);
    const mh = f64x2.add(f64x2.mul(vb1, f64x2.promote_low_f32x4(high(m4))), f64x2.mul(vc1, gh));
    const vh = f64x2.add(f64x2.mul(vb2, f64x2.promote_low_f32x4(high(v4))), f64x2.mul(f64x2.mul(vc2, gh), gh));
    const woh = f64x2.promote_low_f32x4(high(w4));
    const wh = f64x2.sub(f64x2.sub(woh, f64x2.mul(vlr, f64x2.div(f64x2.div(mh, vbc1), f64x2.add(f64x2.sqrt(f64x2.div(vh, vbc2)), veps)))), f64x2.mul(vdecay, woh));
    v128.store(m + o, narrow(ml, mh));
    v128.store(v + o, narrow(vl, vh));
    v128.store(w + o, narrow(wl, wh));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = <f64>load<f32>(g + o) * scale;
    const mi = beta1 * <f64>load<f32>(m + o) + c1 * gi;
    const vi = beta2 * <f64>load<f32>(v + o) + c2 * gi * gi;
    const old = <f64>load<f32>(w + o);
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    store<f32>(w + o, <f32>(old - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps)) - decay * old));
  }
}
