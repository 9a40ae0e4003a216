/**
 * Multi-head scaled-dot-product attention `softmax(scale · Q Kᵀ [+ causal mask]) V` as one
 * differentiable op on [B, L, H·dh] rows (the heads side by side, as the projections give them),
 * with optional rotary embeddings on Q and K. On the wasm backend it runs the fused SIMD kernels
 * of kernels/attention.ts: no head transposes, no rotary slices and concats, no batched matMuls
 * (tfjs' wasm batched matMul takes a scalar path for per-head shapes; its slices, concats and
 * transposes cost more than attention itself at our sizes). On other backends it is the same
 * computation composed of tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_WASM_BASE64 } from './attentionWasm.generated';
import { lazyKernelModule, type KernelExports, type KernelModule } from './kernelModule';
import { readView, tapeRecording } from './heapView';
import { bmm4 } from './ops';

interface Kernels extends KernelExports {
  attentionForward(q: number, k: number, v: number, ld: number, o: number, ldo: number, p: number, B: number, H: number, L: number, dh: number, scale: number, causal: number): void;
  attentionBackward(q: number, k: number, v: number, ld: number, p: number, dout: number, ldo: number, dq: number, dk: number, dv: number, scratch: number, B: number, H: number, L: number, dh: number, scale: number, causal: number): void;
  rope(x: number, ld: number, cos: number, sin: number, B: number, L: number, H: number, dh: number, sign: number): void;
}

/** Rotary embeddings on Q and K (Qwen2's rotate-half form). */
export interface RopeOptions {
  theta: number;
}

export interface AttentionOptions {
  heads: number;
  /** Position i attends to j ≤ i only (the decoder), else to every position (the ViT). */
  causal: boolean;
  rope?: RopeOptions;
  /**
   * Packed sequences: the input is [1, N, ·], sequence s at rows seqStarts[s] … seqStarts[s+1]
   * (seqStarts ends with N); each attends within itself only, rotary positions restarting at 0.
   * Absent: [B, L, ·] is B sequences of length L.
   */
  seqStarts?: number[];
}

const module = lazyKernelModule<Kernels>(ATTENTION_WASM_BASE64, 'attention');

let kernelMs = 0;
/** Milliseconds spent so far in the fused kernels and their operand copies (for profiling). */
export function attentionKernelMs(): number {
  return kernelMs;
}

/** Whether the fused kernels are used (the wasm backend) or the tfjs composition. */
export function fusedAttentionActive(): boolean {
  return tf.getBackend() === 'wasm';
}

const ropeTableCache = new Map<string, { cos: Float32Array; sin: Float32Array }>();

/** cos/sin tables [L, dh/2] of rotary embeddings: angle(pos, i) = pos / theta^(2i/dh). */
export function ropeTables(L: number, dh: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const key = `${L}:${dh}:${theta}`;
  let t = ropeTableCache.get(key);
  if (!t) {
    const half = dh / 2;
    const cos = new Float32Array(L * half);
    const sin = new Float32Array(L * half);
    for (let pos = 0; pos < L; pos++) {
      for (let i = 0; i < half; i++) {
        const a = pos / Math.pow(theta, (2 * i) / dh);
        cos[pos * half + i] = Math.cos(a);
        sin[pos * half + i] = Math.sin(a);
      }
    }
    t = { cos, sin };
    ropeTableCache.set(key, t);
  }
  return t;
}

/**
 * @param q [B, L, H·dh]  @param k [B, L, H·dh]  @param v [B, L, H·dh]
 * @returns [B, L, H·dh]: head h of every row is attention over head h of q, k, v
 */
export function multiHeadAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D {
  if (!fusedAttentionActive()) return composed(q, k, v, opts);
  return fused([q, k, v], opts);
}

/**
 * Attention on a packed projection (the ViT's single qkv matMul).
 * @param qkv [B, L, 3·H·dh]: q, k, v side by side on the last axis
 * @returns [B, L, H·dh]
 */
export function packedAttention(qkv: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D {
  if (!fusedAttentionActive()) {
    const [q, k, v] = tf.split(qkv, 3, -1) as tf.Tensor3D[];
    return composed(q, k, v, opts);
  }
  return fused([qkv], opts);
}

/**
 * What one kernel call covers: `B` sequences of length `L` whose rows start at `row0` (rows of
 * the [·, ·, w] input viewed as one list), their probabilities at float offset `p0` of the
 * probabilities region. A padded batch is one segment; packed sequences are one segment each.
 */
interface Segment {
  B: number;
  L: number;
  row0: number;
  p0: number;
}

function segments(B: number, L: number, H: number, seqStarts: number[] | undefined): Segment[] {
  if (!seqStarts) return [{ B, L, row0: 0, p0: 0 }];
  if (B !== 1 || seqStarts[0] !== 0 || seqStarts[seqStarts.length - 1] !== L) throw new Error(`attention: seqStarts must run from 0 to ${L} over one row of sequences, got [${seqStarts[0]} … ${seqStarts[seqStarts.length - 1]}] for input [${B}, ${L}, ·]`);
  const out: Segment[] = [];
  let p0 = 0;
  for (let s = 0; s + 1 < seqStarts.length; s++) {
    const len = seqStarts[s + 1] - seqStarts[s];
    if (len < 0) throw new Error(`attention: seqStarts decrease at ${s}`);
    if (len === 0) continue;
    out.push({ B: 1, L: len, row0: seqStarts[s], p0 });
    p0 += H * len * len;
  }
  return out;
}

/** The wasm kernels as one custom op over either [q, k, v] or [qkv]. */
function fused(inputs: tf.Tensor3D[], opts: AttentionOptions): tf.Tensor3D {
  const packed = inputs.length === 1;
  const [B, L, w] = inputs[0].shape;
  const d = packed ? w / 3 : w;
  const H = opts.heads;
  const dh = d / H;
  if (!Number.isInteger(dh) || (opts.rope && dh % 2)) throw new Error(`attention: width ${d} does not split into ${H} heads${opts.rope ? ' of even size' : ''}`);
  const segs = segments(B, L, H, opts.seqStarts);
  const ld = packed ? 3 * d : d;
  const nIn = B * L * ld;
  const nOut = B * L * d;
  const nP = segs.reduce((n, g) => n + g.B * H * g.L * g.L, 0);
  const scale = 1 / Math.sqrt(dh);
  const causal = opts.causal ? 1 : 0;
  // Tables for the longest sequence, rounded up to a multiple of 8 (fewer distinct tables to cache).
  const Lmax = Math.ceil(segs.reduce((m, g) => Math.max(m, g.L), 0) / 8) * 8;
  const tables = opts.rope ? ropeTables(Lmax, dh, opts.rope.theta) : null;
  const half = dh / 2;
  /** Byte addresses of q, k, v in a region holding the inputs (packed or one after another). */
  const qkvAt = (base: number) => (packed ? [base, base + 4 * d, base + 8 * d] : [base, base + 4 * nOut, base + 8 * nOut]);
  const putTables = (km: KernelModule<Kernels>, cosAt: number, sinAt: number) => {
    km.f32(cosAt, Lmax * half).set(tables!.cos);
    km.f32(sinAt, Lmax * half).set(tables!.sin);
  };
  /** Rotary embeddings on the q and k (or dq and dk) of every segment; sign −1 is the transpose (backward). */
  const rotate = (km: KernelModule<Kernels>, qAt: number, kAt: number, cosAt: number, sinAt: number, sign: number) => {
    for (const g of segs) {
      km.k.rope(qAt + 4 * g.row0 * ld, ld, cosAt, sinAt, g.B, g.L, H, dh, sign);
      km.k.rope(kAt + 4 * g.row0 * ld, ld, cosAt, sinAt, g.B, g.L, H, dh, sign);
    }
  };
  const total = packed ? nIn : 3 * nOut;
  /** Copies the inputs in, applies rotary embeddings, runs the forward kernel: [module, inputs region, output region, probabilities region]. */
  const forward = (xs: tf.Tensor[]): [KernelModule<Kernels>, number, number, number] => {
    const km = module();
    // Inputs are one region: [qkv] packed, or q, k, v one after another (nIn = 3·nOut then).
    const [xAt, oAt, pAt, cosAt, sinAt] = km.layout([total, nOut, nP, Lmax * half, Lmax * half]);
    if (packed) km.f32(xAt, nIn).set(readView(xs[0]));
    else for (let i = 0; i < 3; i++) km.f32(xAt + 4 * i * nOut, nOut).set(readView(xs[i]));
    const [qAt, kAt, vAt] = qkvAt(xAt);
    if (tables) {
      putTables(km, cosAt, sinAt);
      rotate(km, qAt, kAt, cosAt, sinAt, 1);
    }
    for (const g of segs) {
      const r = 4 * g.row0 * ld;
      km.k.attentionForward(qAt + r, kAt + r, vAt + r, ld, oAt + 4 * g.row0 * d, d, pAt + 4 * g.p0, g.B, H, g.L, dh, scale, causal);
    }
    return [km, xAt, oAt, pAt];
  };
  if (!tapeRecording()) {
    // No backward pass can follow (the frozen teacher, evaluation, generation): nothing to save.
    const t0 = performance.now();
    const [km, , oAt] = forward(inputs);
    const out = tf.tensor3d(km.f32(oAt, nOut), [B, L, d]);
    kernelMs += performance.now() - t0;
    return out;
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t0 = performance.now();
    const [km, xAt, oAt, pAt] = forward(args.slice(0, inputs.length) as tf.Tensor[]);
    const value = tf.tensor3d(km.f32(oAt, nOut), [B, L, d]);
    // Saved for the backward pass: the rotated inputs and the probabilities.
    const savedX = km.f32(xAt, total).slice();
    const probs = km.f32(pAt, nP).slice();
    kernelMs += performance.now() - t0;
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const t1 = performance.now();
        const kb = module();
        const [bx, bp, bdo, bdx, bs, bc, bsn] = kb.layout([total, nP, nOut, total, Lmax, Lmax * half, Lmax * half]);
        kb.f32(bx, total).set(savedX);
        kb.f32(bp, nP).set(probs);
        kb.f32(bdo, nOut).set(readView(dy));
        kb.f32(bdx, total).fill(0);
        const [q, k, v] = qkvAt(bx);
        const [dq, dk, dv] = qkvAt(bdx);
        for (const g of segs) {
          const r = 4 * g.row0 * ld;
          kb.k.attentionBackward(q + r, k + r, v + r, ld, bp + 4 * g.p0, bdo + 4 * g.row0 * d, d, dq + r, dk + r, dv + r, bs, g.B, H, g.L, dh, scale, causal);
        }
        if (tables) {
          putTables(kb, bc, bsn);
          rotate(kb, dq, dk, bc, bsn, -1);
        }
        // Each gradient is copied out of this module's memory (which no tfjs op touches) into its tensor.
        const grads = packed ? [tf.tensor3d(kb.f32(bdx, nIn), [B, L, w])] : [0, 1, 2].map((i) => tf.tensor3d(kb.f32(bdx + 4 * i * nOut, nOut), [B, L, w]));
        kernelMs += performance.now() - t1;
        return grads;
      },
    };
  });
  return f(...inputs) as tf.Tensor3D;
}

const ropeTensorCache = new Map<string, { cos: tf.Tensor; sin: tf.Tensor }>();
const maskCache = new Map<number, tf.Tensor>();

/** Rotate-half rotary embedding with tfjs ops. @param x [B, H, L, dh] */
function applyRope(x: tf.Tensor4D, theta: number): tf.Tensor4D {
  const [, , L, dh] = x.shape;
  const key = `${L}:${dh}:${theta}`;
  let t = ropeTensorCache.get(key);
  if (!t) {
    const tab = ropeTables(L, dh, theta);
    t = { cos: tf.keep(tf.tensor2d(tab.cos, [L, dh / 2])), sin: tf.keep(tf.tensor2d(tab.sin, [L, dh / 2])) };
    ropeTensorCache.set(key, t);
  }
  const [x1, x2] = tf.split(x, 2, 3);
  return tf.concat([tf.sub(tf.mul(x1, t.cos), tf.mul(x2, t.sin)), tf.add(tf.mul(x1, t.sin), tf.mul(x2, t.cos))], 3) as tf.Tensor4D;
}

/** Additive causal mask [L, L]: 0 on and below the diagonal, -1e9 above (kept: one per length). */
function causalMask(L: number): tf.Tensor {
  let m = maskCache.get(L);
  if (!m) {
    const a = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) a[i * L + j] = -1e9;
    m = tf.keep(tf.tensor(a, [L, L]));
    maskCache.set(L, m);
  }
  return m;
}

/** The same attention composed of tfjs ops (backends other than wasm; the tests' reference). */
function composed(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor3D {
  if (opts.seqStarts) {
    // Packed sequences: each one on its own, then side by side again.
    const segs = segments(q.shape[0], q.shape[1], opts.heads, opts.seqStarts);
    const one = { ...opts, seqStarts: undefined };
    const cut = (t: tf.Tensor3D, g: Segment) => tf.slice(t, [0, g.row0, 0], [1, g.L, t.shape[2]]) as tf.Tensor3D;
    return tf.concat(segs.map((g) => composed(cut(q, g), cut(k, g), cut(v, g), one)), 1) as tf.Tensor3D;
  }
  const [B, L, d] = q.shape;
  const H = opts.heads;
  const dh = d / H;
  const heads = (t: tf.Tensor) => tf.transpose(t.reshape([B, L, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
  let qh = heads(q);
  let kh = heads(k);
  if (opts.rope) {
    qh = applyRope(qh, opts.rope.theta);
    kh = applyRope(kh, opts.rope.theta);
  }
  let scores = tf.mul(bmm4(qh, tf.transpose(kh, [0, 1, 3, 2]) as tf.Tensor4D), 1 / Math.sqrt(dh));
  if (opts.causal) scores = tf.add(scores, causalMask(L));
  const o = bmm4(tf.softmax(scores) as tf.Tensor4D, heads(v));
  return tf.transpose(o, [0, 2, 1, 3]).reshape([B, L, d]) as tf.Tensor3D;
}

/** Tensors held by the composed path's rotary and mask caches (bounded: one entry per padded length). */
export function cachedTensorCount(): number {
  return ropeTensorCache.size * 2 + maskCache.size;
}

/** The composed path on any backend (tests compare the fused kernels with it). */
export const composedAttention = composed;
