/**
 * A flat, named store of tf.Variables for one module tree (e.g. `lm.layers.0.attn.wq`), with a
 * seeded initialiser, export to / import from plain typed arrays (checkpoints), and freezing.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../common/random';

/** Plain tensor data as stored in checkpoints. */
export interface TensorData {
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Standard normal samples via Box-Muller from a uniform PRNG. */
export function randomNormal(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();
  private readonly rand: () => number;

  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }

  /** Normal(0, std) weights. */
  normal(name: string, shape: number[], std: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.add(name, tf.tensor(randomNormal(n, std, this.rand), shape));
  }

  /** Uniform(−bound, bound) values. */
  uniform(name: string, shape: number[], bound: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.rand() * 2 - 1) * bound;
    return this.add(name, tf.tensor(out, shape));
  }

  /**
   * Weight [din, dout] of a linear layer, initialised as PyTorch's nn.Linear does
   * (Kaiming-uniform with a = √5: Uniform(±1/√din)). Measured on the built-in world, the teacher
   * learns the task much faster from it than from N(0, 1/din) with residual scaling
   * (docs/teacher-study.md).
   */
  dense(name: string, din: number, dout: number): tf.Variable {
    return this.uniform(name, [din, dout], 1 / Math.sqrt(din));
  }

  /** Bias [dout] of a linear layer with fan-in din, as PyTorch's nn.Linear: Uniform(±1/√din). */
  bias(name: string, din: number, dout: number): tf.Variable {
    return this.uniform(name, [dout], 1 / Math.sqrt(din));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.zeros(shape));
  }

  ones(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.ones(shape));
  }

  private add(name: string, init: tf.Tensor): tf.Variable {
    if (this.vars.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    const v = tf.variable(init, true);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named '${name}'`);
    return v;
  }

  /** Names starting with any of the prefixes (e.g. ['projector.', 'lm.']). */
  names(prefixes?: string[]): string[] {
    const all = [...this.vars.keys()];
    return prefixes ? all.filter((n) => prefixes.some((p) => n.startsWith(p))) : all;
  }

  count(prefixes?: string[]): number {
    return this.names(prefixes).reduce((s, n) => s + this.get(n).size, 0);
  }

  /** Copies every parameter out to typed arrays, keyed `<prefix><name>`. */
  export(prefix = ''): Record<string, TensorData> {
    const out: Record<string, TensorData> = {};
    for (const [n, v] of this.vars) out[prefix + n] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
    return out;
  }

  /**
   * Assigns parameters from typed arrays keyed `<prefix><name>`. Every parameter of this store
   * must be present with the same shape; `source` names the file in errors.
   */
  load(tensors: Record<string, TensorData>, source: string, prefix = ''): void {
    for (const [n, v] of this.vars) {
      const t = tensors[prefix + n];
      if (!t) throw new Error(`${source}: missing tensor '${prefix + n}'`);
      if (t.dtype !== 'F32' || !(t.data instanceof Float32Array)) throw new Error(`${source}: tensor '${prefix + n}' has dtype ${t.dtype}, expected a float (F32, F16 or BF16)`);
      if (t.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`${source}: tensor '${prefix + n}' has shape [${t.shape}], expected [${v.shape}] (model sizes in the config differ from the checkpoint)`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape)));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
