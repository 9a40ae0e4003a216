/**
 * `npm run bench:step`: median time of one DFT training step (teacher forward + student forward
 * and backward + AdamW) at the default preset's sizes, samples/s, the SFT step (no teacher) for
 * comparison, and the tensor count before and after the timed steps (must not grow).
 * Usage: node --import tsx bench/step.ts [--steps 100] [--preset default] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { presetConfig } from '../src/trainer/config';
import type { BackendName } from '../src/trainer/config/types';
import { initBackend } from '../src/trainer/backend';
import { buildBatch, disposeBatch } from '../src/trainer/models/batch';
import { Mllm } from '../src/trainer/models/mllm';
import { cachedTensorCount } from '../src/trainer/models/qwen2';
import { VisionEncoder } from '../src/trainer/models/vision';
import { Sampler } from '../src/trainer/data/encode';
import { AdamW } from '../src/trainer/train/adamw';
import { loadData } from '../src/trainer/train/data';
import { mllmLossAndGrads, OnlineTeacher } from '../src/trainer/train/step';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function main() {
  const steps = Number(arg('steps', '100'));
  const preset = arg('preset', 'default');
  const backend = await initBackend(arg('backend', 'auto') as BackendName);
  const cfg = presetConfig(preset);
  const expFile = resolve('.kd-cache', `bench-${preset}`, 'kd-experiment.json');
  cfg.data.worldDir = '../world-' + preset;
  const data = loadData(cfg, expFile, () => undefined);
  const vision = new VisionEncoder(cfg.vision, 1);
  const teacher = new Mllm(cfg.teacher, cfg.vision.dim, data.tokenizer.vocabSize, 2);
  const student = new Mllm(cfg.student, cfg.vision.dim, data.tokenizer.vocabSize, 3);
  const set = data.encoded('instructions');
  const sc = cfg.stages.dft;
  const sampler = new Sampler(set.length, 0);
  const trainable = new Map([...student.params.names(['projector.', 'lm.'])].map((n) => [n, student.params.get(n)]));

  const run = (withTeacher: boolean, n: number) => {
    const opt = new AdamW(sc.optimizer);
    const times: number[] = [];
    const src = withTeacher ? new OnlineTeacher(teacher) : null;
    const weights = withTeacher ? sc.loss : { ce: 1, res: 0, vis: 0, rel: 0 };
    const before = tf.memory().numTensors - cachedTensorCount();
    for (let s = 0; s < n; s++) {
      const t0 = performance.now();
      const batch = buildBatch(sampler.take(s * sc.batchSize, sc.batchSize).map((i) => set[i]), data.np, data.patchDim, data.tokenizer.padId);
      const r = mllmLossAndGrads(batch, vision, student, src, [...trainable.keys()], weights, cfg.distill);
      disposeBatch(batch);
      opt.step(trainable, r.grads, 1e-4, 1);
      tf.dispose([...r.grads.values()]);
      times.push(performance.now() - t0);
    }
    // First-step allocations (optimizer moments) are not a leak: count from after step 1.
    opt.dispose();
    return { times: times.slice(Math.min(5, n - 1)), before, after: tf.memory().numTensors - cachedTensorCount() };
  };
  run(true, 10); // warm-up: rope/mask caches for every padded length
  const warm = tf.memory().numTensors - cachedTensorCount();
  const dft = run(true, steps);
  const sft = run(false, Math.max(10, Math.floor(steps / 2)));
  const dftMs = median(dft.times);
  const sftMs = median(sft.times);
  const lines = [
    `backend ${backend.name}, preset ${preset}: teacher ${teacher.params.count()} params, student ${student.params.count()}, vision ${vision.params.count()}; batch ${sc.batchSize}, seq ≤ ${cfg.data.maxLength}, vocab ${data.tokenizer.vocabSize}`,
    `DFT step (teacher fwd + student fwd/bwd + AdamW): median ${dftMs.toFixed(1)} ms over ${dft.times.length} steps, ${(sc.batchSize / (dftMs / 1000)).toFixed(0)} samples/s`,
    `SFT step (student only):                         median ${sftMs.toFixed(1)} ms, ${(sc.batchSize / (sftMs / 1000)).toFixed(0)} samples/s`,
    `ratio DFT / SFT: ${(dftMs / sftMs).toFixed(2)}`,
    `tensors (excluding ${cachedTensorCount()} cached rotary/mask tables): ${warm} after warm-up, ${dft.before} before the DFT steps, ${dft.after} after ${steps} DFT steps (growth ${dft.after - dft.before}), ${sft.after} after the SFT steps`,
  ];
  console.log(lines.join('\n'));
  if (dft.after > dft.before) {
    console.error('tensor count grew during the DFT steps: leak');
    process.exitCode = 1;
  }
}
main();
