/**
 * AdamW keyed by parameter NAME (not by position, unlike tfjs' optimizers), with global-norm
 * gradient clipping and state export/import for exact resume. The element-wise arithmetic runs in
 * our WebAssembly kernel (kernels/adamw.ts: f64 math, f32 storage, bit-identical to the plain-JS
 * loop it replaced, which the model test keeps as its reference); any tfjs backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../config/types';
import { lazyKernelModule, type KernelExports } from '../nn/kernelModule';
import { readView } from '../nn/heapView';
import type { TensorData } from '../nn/params';
import { ADAMW_WASM_BASE64 } from './adamwWasm.generated';

interface AdamWKernels extends KernelExports {
  sumSquares(g: number, n: number, acc: number): number;
  update(g: number, m: number, v: number, w: number, n: number, scale: number, beta1: number, c1: number, beta2: number, c2: number, bc1: number, bc2: number, lr: number, eps: number, decay: number): void;
}

const adamwKernels = lazyKernelModule<AdamWKernels>(ADAMW_WASM_BASE64, 'AdamW');

export class AdamW {
  /** First and second moments by parameter name (plain arrays: the update is one loop in JS). */
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly shapes = new Map<string, number[]>();
  /** Number of updates applied (bias correction uses it). */
  t = 0;

  constructor(private readonly cfg: OptimizerConfig) {}

  /**
   * Applies one update. `grads` and `params` are keyed by parameter name. Element by element in
   * float64, stored as float32: m, v and the weights of each parameter are copied into the
   * kernel module's memory, updated there and copied back (a dozen tfjs ops per parameter cost
   * the wasm backend more than the arithmetic itself).
   * @returns the global gradient norm before clipping
   */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, clipNorm: number): number {
    const names = [...grads.keys()].sort();
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new Error(`optimizer: no parameter named '${n}'`);
      const size = grads.get(n)!.size;
      if (size !== p.size) throw new Error(`optimizer: gradient of '${n}' has ${size} values, the parameter ${p.size}`);
    }
    const km = adamwKernels();
    const sizes = names.map((n) => params.get(n)!.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const largest = Math.max(0, ...sizes);
    const [aG, aM, aV, aW] = km.layout([total, largest, largest, largest]);
    // Every gradient once into the module, back to back in name order; the squared norm is one
    // sequential f64 sum over them (name order, then element order).
    const gAt: number[] = [];
    let at = aG;
    names.forEach((n, i) => {
      gAt.push(at);
      km.f32(at, sizes[i]).set(readView(grads.get(n)!));
      at += sizes[i] * 4;
    });
    const sq = km.k.sumSquares(aG, total, 0);
    const norm = Math.sqrt(sq);
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const decay = lr * weightDecay;
    names.forEach((n, i) => {
      const p = params.get(n)!;
      const size = sizes[i];
      if (!this.m.has(n)) {
        this.m.set(n, new Float32Array(size));
        this.v.set(n, new Float32Array(size));
        this.shapes.set(n, p.shape);
      }
      const m = this.m.get(n)!;
      const v = this.v.get(n)!;
      km.f32(aW, size).set(readView(p));
      km.f32(aM, size).set(m);
      km.f32(aV, size).set(v);
      km.k.update(gAt[i], aM, aV, aW, size, scale, beta1, 1 - beta1, beta2, 1 - beta2, bc1, bc2, lr, eps, decay);
      m.set(km.f32(aM, size));
      v.set(km.f32(aV, size));
      const w = km.f32(aW, size).slice();
      tf.tidy(() => p.assign(tf.tensor(w, p.shape)));
    });
    return norm;
  }

  /** State as named tensors (`m.<name>`, `v.<name>`) plus the step count. */
  export(): { tensors: Record<string, TensorData>; t: number } {
    const tensors: Record<string, TensorData> = {};
    for (const [n, m] of this.m) tensors[`m.${n}`] = { dtype: 'F32', shape: this.shapes.get(n)!, data: Float32Array.from(m) };
    for (const [n, v] of this.v) tensors[`v.${n}`] = { dtype: 'F32', shape: this.shapes.get(n)!, data: Float32Array.from(v) };
    return { tensors, t: this.t };
  }

  import(tensors: Record<string, TensorData>, t: number): void {
    this.dispose();
    this.t = t;
    for (const [key, td] of Object.entries(tensors)) {
      const map = key.startsWith('m.') ? this.m : key.startsWith('v.') ? this.v : null;
      if (!map) continue;
      map.set(key.slice(2), Float32Array.from(td.data as Float32Array));
      this.shapes.set(key.slice(2), [...td.shape]);
    }
  }

  dispose(): void {
    this.m.clear();
    this.v.clear();
    this.shapes.clear();
  }
}

/** Linear warm-up over warmupRatio·total steps, then cosine decay to minLrRatio·lr. step is 0-based. */
export function cosineLr(step: number, total: number, lr: number, warmupRatio: number, minLrRatio: number): number {
  const warm = Math.max(1, Math.round(total * warmupRatio));
  if (warmupRatio > 0 && step < warm) return (lr * (step + 1)) / warm;
  const progress = Math.min(1, (step - (warmupRatio > 0 ? warm : 0)) / Math.max(1, total - (warmupRatio > 0 ? warm : 0)));
  const min = lr * minLrRatio;
  return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
}
