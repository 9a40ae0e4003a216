/**
 * A training worker thread of StepPool (stepPool.ts): builds replicas of the frozen vision
 * encoder, the student (and the teacher, or opens its output cache) from the main thread's
 * weights, then computes the loss terms and gradients of the batch shards it is sent, and takes
 * the updated trainable parameters after every optimizer step.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendName } from '../config/types';
import { initBackend } from '../backend';
import { buildBatch, disposeBatch } from '../models/batch';
import { Mllm } from '../models/mllm';
import { VisionEncoder } from '../models/vision';
import { mllmLossAndGrads, OnlineTeacher, type TeacherSource } from './step';
import { CachedTeacher } from './teacherCache';
import type { ModelSpec, ShardJob, WorkerInit } from './stepPool';

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  await initBackend(init.backend as BackendName);
  const vision = new VisionEncoder(init.vision.cfg, 0);
  vision.params.load(init.vision.params, 'main thread', 'vision.');
  const model = (m: ModelSpec): Mllm => {
    const x = new Mllm(m.cfg, m.dVision, m.vocab, 0);
    x.params.load(m.params, 'main thread');
    return x;
  };
  const student = model(init.student);
  let teacher: TeacherSource | null = null;
  if (init.teacher && 'cacheDir' in init.teacher) teacher = CachedTeacher.openBuilt(init.teacher.cacheDir);
  else if (init.teacher) teacher = new OnlineTeacher(model(init.teacher));
  const vars = init.trainable.map((n) => student.params.get(n));
  parentPort!.on('message', (m: { type: 'step'; job: ShardJob } | { type: 'params'; values: Float32Array[] }) => {
    try {
      if (m.type === 'params') {
        tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(m.values[i], v.shape))));
        return;
      }
      const { samples, indices, share } = m.job;
      const batch = buildBatch(samples, init.np, init.patchDim, init.padId);
      const r = mllmLossAndGrads(batch, vision, student, teacher, init.trainable, init.weights, init.distill, indices, share);
      disposeBatch(batch);
      // Fresh buffers (never views of the wasm heap): they are transferred to the main thread.
      const grads = init.trainable.map((n) => new Float32Array(r.grads.get(n)!.dataSync()));
      tf.dispose([...r.grads.values()]);
      parentPort!.postMessage({ type: 'result', result: { terms: r.terms, grads } }, grads.map((g) => g.buffer as ArrayBuffer));
    } catch (e) {
      parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  });
  parentPort!.postMessage({ type: 'ready' });
}

main().catch((e: Error) => parentPort!.postMessage({ type: 'error', message: e.stack ?? String(e) }));
