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
import { bmm4 } from './ops';

interface Kernels {
  memory: WebAssembly.Memory;
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
}

let kernels: Kernels | undefined;
/** Operands start above the module's own static data. */
const BASE = 65536;

function module(): Kernels {
  if (!kernels) {
    const m = new WebAssembly.Module(Buffer.from(ATTENTION_WASM_BASE64, 'base64'));
    kernels = new WebAssembly.Instance(m, { env: { abort: () => { throw new Error('attention kernel aborted'); } } }).exports as unknown as Kernels;
  }
  return kernels;
}

/** Byte offsets of consecutive f32 regions of the given lengths, the memory grown to hold them. */
function layout(k: Kernels, lengths: number[]): number[] {
  const offsets: number[] = [];
  let at = BASE;
  for (const n of lengths) {
    offsets.push(at);
    at += Math.ceil((n * 4) / 16) * 16;
  }
  const have = k.memory.buffer.byteLength;
  if (at > have) k.memory.grow(Math.ceil((at - have) / 65536));
  return offsets;
}

const f32 = (k: Kernels, offset: number, n: number): Float32Array => new Float32Array(k.memory.buffer, offset, n);

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

/** The wasm kernels as one custom op over either [q, k, v] or [qkv]. */
function fused(inputs: tf.Tensor3D[], opts: AttentionOptions): tf.Tensor3D {
  const packed = inputs.length === 1;
  const [B, L, w] = inputs[0].shape;
  const d = packed ? w / 3 : w;
  const H = opts.heads;
  const dh = d / H;
  if (!Number.isInteger(dh) || (opts.rope && dh % 2)) throw new Error(`attention: width ${d} does not split into ${H} heads${opts.rope ? ' of even size' : ''}`);
  const ld = packed ? 3 * d : d;
  const nIn = B * L * ld;
  const nOut = B * L * d;
  const nP = B * H * L * L;
  const scale = 1 / Math.sqrt(dh);
  const causal = opts.causal ? 1 : 0;
  const tables = opts.rope ? ropeTables(L, dh, opts.rope.theta) : null;
  const half = dh / 2;
  /** Byte addresses of q, k, v in a region holding the inputs (packed or one after another). */
  const qkvAt = (base: number) => (packed ? [base, base + 4 * d, base + 8 * d] : [base, base + 4 * nOut, base + 8 * nOut]);
  const putTables = (km: Kernels, cosAt: number, sinAt: number) => {
    f32(km, cosAt, L * half).set(tables!.cos);
    f32(km, sinAt, L * half).set(tables!.sin);
  };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t0 = performance.now();
    const km = module();
    // Inputs are one region: [qkv] packed, or q, k, v one after another (nIn = 3·nOut then).
    const total = packed ? nIn : 3 * nOut;
    const [xAt, oAt, pAt, cosAt, sinAt] = layout(km, [total, nOut, nP, L * half, L * half]);
    if (packed) f32(km, xAt, nIn).set((args[0] as tf.Tensor).dataSync() as Float32Array);
    else for (let i = 0; i < 3; i++) f32(km, xAt + 4 * i * nOut, nOut).set((args[i] as tf.Tensor).dataSync() as Float32Array);
    const [qAt, kAt, vAt] = qkvAt(xAt);
    if (tables) {
      putTables(km, cosAt, sinAt);
      km.rope(qAt, ld, cosAt, sinAt, B, L, H, dh, 1);
      km.rope(kAt, ld, cosAt, sinAt, B, L, H, dh, 1);
    }
    km.attentionForward(qAt, kAt, vAt, ld, oAt, d, pAt, B, H, L, dh, scale, causal);
    const out = f32(km, oAt, nOut).slice();
    // Saved for the backward pass: the rotated inputs and the probabilities.
    const savedX = f32(km, xAt, total).slice();
    const probs = f32(km, pAt, nP).slice();
    kernelMs += performance.now() - t0;
    return {
      value: tf.tensor3d(out, [B, L, d]),
      gradFunc: (dy: tf.Tensor) => {
        const t1 = performance.now();
        const kb = module();
        const [bx, bp, bdo, bdx, bs, bc, bsn] = layout(kb, [total, nP, nOut, total, L, L * half, L * half]);
        f32(kb, bx, total).set(savedX);
        f32(kb, bp, nP).set(probs);
        f32(kb, bdo, nOut).set(dy.dataSync() as Float32Array);
        f32(kb, bdx, total).fill(0);
        const [q, k, v] = qkvAt(bx);
        const [dq, dk, dv] = qkvAt(bdx);
        kb.attentionBackward(q, k, v, ld, bp, bdo, d, dq, dk, dv, bs, B, H, L, dh, scale, causal);
        if (tables) {
          putTables(kb, bc, bsn);
          kb.rope(dq, ld, bc, bsn, B, L, H, dh, -1);
          kb.rope(dk, ld, bc, bsn, B, L, H, dh, -1);
        }
        const grads = packed ? [f32(kb, bdx, nIn).slice()] : [0, 1, 2].map((i) => f32(kb, bdx + 4 * i * nOut, nOut).slice());
        kernelMs += performance.now() - t1;
        return grads.map((g) => tf.tensor3d(g, [B, L, w]));
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
