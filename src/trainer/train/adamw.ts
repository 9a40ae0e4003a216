/**
 * AdamW keyed by parameter NAME (not by position, unlike tfjs' optimizers), with global-norm
 * gradient clipping and state export/import for exact resume.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../config/types';
import type { TensorData } from '../nn/params';

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Number of updates applied (bias correction uses it). */
  t = 0;

  constructor(private readonly cfg: OptimizerConfig) {}

  /**
   * Applies one update. `grads` and `params` are keyed by parameter name.
   * @returns the global gradient norm before clipping
   */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, clipNorm: number): number {
    const names = [...grads.keys()].sort();
    const norm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads.get(n)!)))).dataSync()[0]));
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new Error(`optimizer: no parameter named '${n}'`);
      if (!this.m.has(n)) {
        this.m.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
        this.v.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      }
      const m = this.m.get(n)!;
      const v = this.v.get(n)!;
      tf.tidy(() => {
        const g = scale === 1 ? grads.get(n)! : tf.mul(grads.get(n)!, scale);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        let next = tf.sub(p, tf.mul(update, lr));
        if (weightDecay > 0) next = tf.sub(next, tf.mul(p, lr * weightDecay));
        p.assign(next);
      });
    }
    return norm;
  }

  /** State as named tensors (`m.<name>`, `v.<name>`) plus the step count. */
  export(): { tensors: Record<string, TensorData>; t: number } {
    const tensors: Record<string, TensorData> = {};
    for (const [n, m] of this.m) tensors[`m.${n}`] = { dtype: 'F32', shape: m.shape, data: m.dataSync() as Float32Array };
    for (const [n, v] of this.v) tensors[`v.${n}`] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
    return { tensors, t: this.t };
  }

  import(tensors: Record<string, TensorData>, t: number): void {
    this.dispose();
    this.t = t;
    for (const [key, td] of Object.entries(tensors)) {
      const map = key.startsWith('m.') ? this.m : key.startsWith('v.') ? this.v : null;
      if (!map) continue;
      map.set(key.slice(2), tf.tidy(() => tf.variable(tf.tensor(td.data as Float32Array, td.shape), false)));
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
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
