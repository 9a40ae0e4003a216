/**
 * AdamW keyed by parameter NAME (not by position, unlike tfjs' optimizers), with global-norm
 * gradient clipping and state export/import for exact resume.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig } from '../config/types';
import type { TensorData } from '../nn/params';

export class AdamW {
  /** First and second moments by parameter name (plain arrays: the update is one loop in JS). */
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly shapes = new Map<string, number[]>();
  /** Number of updates applied (bias correction uses it). */
  t = 0;

  constructor(private readonly cfg: OptimizerConfig) {}

  /**
   * Applies one update. `grads` and `params` are keyed by parameter name. Computed element by
   * element in float64 and stored as float32 (a dozen tfjs ops per parameter cost the wasm
   * backend more than the arithmetic itself).
   * @returns the global gradient norm before clipping
   */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, clipNorm: number): number {
    const names = [...grads.keys()].sort();
    const g = new Map(names.map((n) => [n, grads.get(n)!.dataSync() as Float32Array]));
    let sq = 0;
    for (const n of names) for (const x of g.get(n)!) sq += x * x;
    const norm = Math.sqrt(sq);
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const decay = lr * weightDecay;
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new Error(`optimizer: no parameter named '${n}'`);
      const gn = g.get(n)!;
      if (gn.length !== p.size) throw new Error(`optimizer: gradient of '${n}' has ${gn.length} values, the parameter ${p.size}`);
      if (!this.m.has(n)) {
        this.m.set(n, new Float32Array(p.size));
        this.v.set(n, new Float32Array(p.size));
        this.shapes.set(n, p.shape);
      }
      const m = this.m.get(n)!;
      const v = this.v.get(n)!;
      const w = Float32Array.from(p.dataSync() as Float32Array);
      for (let i = 0; i < w.length; i++) {
        const gi = gn[i] * scale;
        const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
        const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
        const old = w[i];
        w[i] = old - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps)) - decay * old;
      }
      tf.tidy(() => p.assign(tf.tensor(w, p.shape)));
    }
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
