/**
 * Differentiable building blocks whose backward passes stay on the fast path of the tfjs wasm
 * backend: every matMul in forward and backward is untransposed (explicit tf.transpose instead
 * of transpose flags), and row gathers get a ScatterNd gradient (wasm lacks UnsortedSegmentSum).
 */
import * as tf from '@tensorflow/tfjs';

/** tf.customGrad with a signature TypeScript can check for our fixed-arity uses. */
type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const customGrad = tf.customGrad as unknown as (f: (...args: any[]) => { value: tf.Tensor; gradFunc: GradFn }) => (...args: tf.Tensor[]) => tf.Tensor;

/**
 * y = x · w for 2-D operands.
 * @param x [N, Din]
 * @param w [Din, Dout]
 * @returns [N, Dout]; dx = dy · wᵀ, dw = xᵀ · dy, all with explicit transposes.
 */
export const matMul2d: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D = customGrad(
  (x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, w]);
    return {
      value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor2D[];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)];
      },
    };
  },
) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * Batched y = a · b for rank-4 operands (attention), backward with explicit 4-D transposes.
 * @param a [B, H, M, K]
 * @param b [B, H, K, N]
 * @returns [B, H, M, N]
 */
export const bmm4: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D = customGrad(
  (a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved;
        return [tf.matMul(dy, tf.transpose(sb, [0, 1, 3, 2])), tf.matMul(tf.transpose(sa, [0, 1, 3, 2]), dy)];
      },
    };
  },
) as unknown as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;

/**
 * Row gather with a ScatterNd gradient (duplicate indices are summed).
 * @param table [N, D]
 * @param index int32 [M], values in [0, N); must outlive the backward pass (not an intermediate
 *   of the differentiated function, which tfjs disposes before the gradients run)
 * @returns [M, D]
 */
export function gatherRows(table: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
  const n = table.shape[0];
  const f = customGrad((t: tf.Tensor) => {
    return {
      value: tf.getBackend() === 'wasm' ? copyRows(t as tf.Tensor2D, index) : tf.gather(t, index),
      gradFunc: (dy: tf.Tensor) => [tf.scatterND(index.reshape([-1, 1]), dy, [n, dy.shape[1]!])],
    };
  }) as unknown as (t: tf.Tensor2D) => tf.Tensor2D;
  return f(table);
}

/**
 * tf.gather(table, index) on axis 0 as row copies in JS: the wasm backend's GatherV2 costs
 * ~2 ms for a [1000, 128] table and 900 indices (a tenth of a DFT step over its six gathers),
 * the copies ~0.05 ms.
 * @param table float32 [N, D]  @param index int32 [M]  @returns [M, D]
 */
function copyRows(table: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
  const [n, d] = table.shape;
  const src = table.dataSync() as Float32Array;
  const idx = index.dataSync();
  const out = new Float32Array(idx.length * d);
  for (let j = 0; j < idx.length; j++) {
    const r = idx[j];
    if (!(r >= 0 && r < n)) throw new Error(`gatherRows: index ${r} at ${j} is outside [0, ${n})`);
    out.set(src.subarray(r * d, r * d + d), j * d);
  }
  return tf.tensor2d(out, [idx.length, d]);
}

/**
 * Affine map on the last axis of a tensor of any rank, through matMul2d.
 * @param x [..., Din]
 * @param w [Din, Dout]
 * @param b [Dout] or undefined
 * @returns [..., Dout]
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const din = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = matMul2d(x.reshape([-1, din]) as tf.Tensor2D, w);
  if (b) y = tf.add(y, b);
  return y.reshape([...lead, w.shape[1]]);
}

/**
 * RMSNorm (Qwen2): x * rsqrt(mean(x²) + eps) * g.
 * @param x [..., D]  @param g [D]
 */
export function rmsNorm(x: tf.Tensor, g: tf.Tensor1D, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), g);
}

/**
 * LayerNorm (ViT): (x − mean) * rsqrt(var + eps) * g + b.
 * @param x [..., D]  @param g [D]  @param b [D]
 */
export function layerNorm(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const v = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(v, eps))), g), b);
}

/** GELU, tanh approximation (no Erf gradient needed). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(c, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/** SiLU: x * sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}
