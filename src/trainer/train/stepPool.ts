/**
 * Data-parallel MLLM training steps over worker threads, so one run uses every core (tfjs' wasm
 * backend is single-threaded under Node). The main thread keeps the parameters, the optimizer
 * and the data; every step it splits the batch into contiguous shards, computes shard 0 itself
 * while each helper thread (its own wasm backend and a replica of the models) computes one other
 * shard, then adds the shards' gradients and loss terms in shard order (deterministic for a given
 * worker count) and sends the updated trainable parameters back. Each shard's losses are its
 * share of the whole batch's means (kdLossRows `share`), so the sum is the full-batch step.
 * Node only (worker_threads).
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DistillConfig, LossWeights, ModelConfig, VisionConfig } from '../config/types';
import { responseRows } from '../models/batch';
import type { EncodedSample } from '../data/encodedSample';
import type { TensorData } from '../nn/params';

export interface ModelSpec {
  cfg: ModelConfig;
  dVision: number;
  vocab: number;
  params: Record<string, TensorData>;
}

/** Everything a helper needs to build its replicas. */
export interface WorkerInit {
  backend: string;
  vision: { cfg: VisionConfig; params: Record<string, TensorData> };
  student: ModelSpec;
  /** The frozen teacher: its weights (online) or the folder of its output cache. */
  teacher: ModelSpec | { cacheDir: string } | null;
  trainable: string[];
  weights: LossWeights;
  distill: DistillConfig;
  np: number;
  patchDim: number;
  padId: number;
}

export interface ShardJob {
  samples: EncodedSample[];
  indices: number[];
  share: { nt: number; ni: number };
}

export interface ShardResult {
  terms: Record<string, number>;
  /** Gradient of each trainable parameter, in `trainable` order. */
  grads: Float32Array[];
}

type Reply = { type: 'ready' } | { type: 'result'; result: ShardResult } | { type: 'error'; message: string };

/** A helper thread: the bundle's sibling (dist/stepWorker.js) or, from source (tests, benches), the .ts file through tsx. */
function newWorker(init: WorkerInit): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(join(__dirname, 'stepWorker.js'), { workerData: init });
  const file = JSON.stringify(join(__dirname, 'stepWorker.ts'));
  return new Worker(`require('tsx/cjs'); require(${file});`, { eval: true, workerData: init });
}

export class StepPool {
  private constructor(private readonly workers: Worker[], private readonly pending: ((r: Reply) => void)[]) {}

  /** Starts `helpers` threads and waits until each has built its replicas. */
  static async start(helpers: number, init: WorkerInit): Promise<StepPool> {
    const workers: Worker[] = [];
    const pending: ((r: Reply) => void)[] = [];
    const pool = new StepPool(workers, pending);
    for (let i = 0; i < helpers; i++) {
      const w = newWorker(init);
      const idx = i;
      w.on('message', (m: Reply) => pool.pending[idx]?.(m));
      w.on('error', (e) => pool.pending[idx]?.({ type: 'error', message: e.stack ?? e.message }));
      w.on('exit', (code) => pool.pending[idx]?.({ type: 'error', message: `training worker ${idx + 1} exited (code ${code})` }));
      workers.push(w);
    }
    await Promise.all(workers.map((_, i) => pool.reply(i, 'ready')));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private reply<T extends Reply['type']>(i: number, want: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.pending[i] = (m) => {
        delete this.pending[i];
        if (m.type === want) resolve(m as Extract<Reply, { type: T }>);
        else reject(new Error(m.type === 'error' ? `training worker ${i + 1}: ${m.message}` : `training worker ${i + 1}: unexpected ${m.type}`));
      };
    });
  }

  /** Sends shard jobs to the helpers (helper i gets jobs[i]); resolves with their results in order. */
  run(jobs: ShardJob[]): Promise<ShardResult[]> {
    return Promise.all(jobs.map((job, i) => {
      const p = this.reply(i, 'result');
      this.workers[i].postMessage({ type: 'step', job });
      return p.then((r) => r.result);
    }));
  }

  /** New values of the trainable parameters (in `trainable` order) for every replica. */
  setParams(values: Float32Array[]): void {
    for (const w of this.workers) w.postMessage({ type: 'params', values });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Splits `n` batch positions into `parts` contiguous shards as even as possible (earlier shards one longer). */
export function shardRanges(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const len = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([at, at + len]);
    at += len;
  }
  return out.filter(([a, b]) => b > a);
}

/** Adds gradients given as typed arrays into tensors, in the given order. */
export function addGrads(base: Map<string, tf.Tensor>, names: string[], extra: Float32Array[]): void {
  names.forEach((n, i) => {
    const g = base.get(n)!;
    const sum = tf.tidy(() => tf.add(g, tf.tensor(extra[i], g.shape)));
    g.dispose();
    base.set(n, sum);
  });
}

/**
 * One MLLM micro-step over the pool: shard 0 on this thread (`compute`), the other shards on the
 * helpers at the same time; terms and gradients added in shard order. Without a pool, `compute`
 * on the whole batch (bit-identical to single-threaded training).
 * @param compute the step on some samples of the batch, with the batch totals when it is a shard
 */
/** The whole batch's response-row and image counts, which each shard's losses are a share of. */
export function batchShare(samples: EncodedSample[]): { nt: number; ni: number } {
  return { nt: samples.reduce((s, x) => s + responseRows(x), 0), ni: samples.filter((x) => x.visualStart >= 0).length };
}

export async function pooledStep(
  pool: StepPool | null,
  samples: EncodedSample[],
  indices: number[],
  trainable: string[],
  compute: (samples: EncodedSample[], indices: number[], share?: { nt: number; ni: number }) => { terms: Record<string, number>; grads: Map<string, tf.Tensor> },
): Promise<{ terms: Record<string, number>; grads: Map<string, tf.Tensor> }> {
  if (!pool) return compute(samples, indices);
  const ranges = shardRanges(samples.length, pool.size + 1);
  const share = batchShare(samples);
  const jobs = ranges.slice(1).map(([a, b]) => ({ samples: samples.slice(a, b), indices: indices.slice(a, b), share }));
  const others = pool.run(jobs);
  const [a0, b0] = ranges[0];
  let mine: { terms: Record<string, number>; grads: Map<string, tf.Tensor> };
  try {
    mine = compute(samples.slice(a0, b0), indices.slice(a0, b0), share);
  } catch (e) {
    await others.catch(() => undefined);
    throw e;
  }
  const rest = await others;
  const terms: Record<string, number> = { ...mine.terms };
  for (const r of rest) {
    for (const [k, v] of Object.entries(r.terms)) terms[k] = (terms[k] ?? 0) + v;
    addGrads(mine.grads, trainable, r.grads);
  }
  return { terms, grads: mine.grads };
}
