/**
 * Scaled dot-product attention `softmax(scale · Q Kᵀ [+ causal mask]) V` over [B, H, L, dh]
 * heads as one differentiable op. On the wasm backend it runs the fused SIMD kernels of
 * kernels/attention.ts (tfjs' wasm batched matMul takes a scalar path for these shapes: most of
 * a training step); on other backends it is the same composition of tfjs ops as before.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_WASM_BASE64 } from './attentionWasm.generated';
import { bmm4 } from './ops';

interface Kernels {
  memory: WebAssembly.Memory;
  attentionForward(q: number, k: number, v: number, o: number, p: number, bh: number, L: number, dh: number, scale: number, causal: number): void;
  attentionBackward(q: number, k: number, v: number, p: number, dout: number, dq: number, dk: number, dv: number, scratch: number, bh: number, L: number, dh: number, scale: number, causal: number): void;
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

/** Whether the fused kernels are used (the wasm backend) or the tfjs composition. */
export function fusedAttentionActive(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * @param q [B, H, L, dh]  @param k [B, H, L, dh]  @param v [B, H, L, dh]
 * @param causal position i attends to j ≤ i only (the decoder), else to every position (the ViT)
 * @returns [B, H, L, dh]
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, causal: boolean): tf.Tensor4D {
  const [B, H, L, dh] = q.shape;
  const scale = 1 / Math.sqrt(dh);
  if (!fusedAttentionActive()) {
    let scores = tf.mul(bmm4(q, tf.transpose(k, [0, 1, 3, 2]) as tf.Tensor4D), scale);
    if (causal) scores = tf.add(scores, causalMask(L));
    return bmm4(tf.softmax(scores) as tf.Tensor4D, v);
  }
  const BH = B * H;
  const n = BH * L * dh;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qt, kt, vt] = args as tf.Tensor[];
    const qd = qt.dataSync() as Float32Array;
    const kd = kt.dataSync() as Float32Array;
    const vd = vt.dataSync() as Float32Array;
    const km = module();
    const [oq, ok, ov, oo, op] = layout(km, [n, n, n, n, BH * L * L]);
    f32(km, oq, n).set(qd);
    f32(km, ok, n).set(kd);
    f32(km, ov, n).set(vd);
    km.attentionForward(oq, ok, ov, oo, op, BH, L, dh, scale, causal ? 1 : 0);
    const out = f32(km, oo, n).slice();
    const probs = f32(km, op, BH * L * L).slice();
    return {
      value: tf.tensor4d(out, [B, H, L, dh]),
      gradFunc: (dy: tf.Tensor) => {
        const dyd = dy.dataSync() as Float32Array;
        const kb = module();
        const [bq, bk, bv, bp, bdo, bdq, bdk, bdv, bs] = layout(kb, [n, n, n, BH * L * L, n, n, n, n, L]);
        f32(kb, bq, n).set(qd);
        f32(kb, bk, n).set(kd);
        f32(kb, bv, n).set(vd);
        f32(kb, bp, BH * L * L).set(probs);
        f32(kb, bdo, n).set(dyd);
        kb.attentionBackward(bq, bk, bv, bp, bdo, bdq, bdk, bdv, bs, BH, L, dh, scale, causal ? 1 : 0);
        return [bdq, bdk, bdv].map((o) => tf.tensor4d(f32(kb, o, n).slice(), [B, H, L, dh]));
      },
    };
  });
  return f(q, k, v) as tf.Tensor4D;
}

const maskCache = new Map<number, tf.Tensor>();

/** Additive causal mask [L, L]: 0 on and below the diagonal, -1e9 above (kept: one per length). */
export function causalMask(L: number): tf.Tensor {
  let m = maskCache.get(L);
  if (!m) {
    const a = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) a[i * L + j] = -1e9;
    m = tf.keep(tf.tensor(a, [L, L]));
    maskCache.set(L, m);
  }
  return m;
}

/** Tensors held by the mask cache (bounded: one per padded length). */
export function cachedMaskCount(): number {
  return maskCache.size;
}
