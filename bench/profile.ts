/**
 * `npm run bench:profile`: where one training step's time goes, at a preset's sizes, on one
 * thread. Two views of the same steps: phases (vision forward, teacher forward, student
 * forward + backward, AdamW) timed around each call, and tfjs kernels (tf.profile), summed by
 * kernel name over the timed steps, largest first. The fused attention op runs its own wasm
 * module, not a tfjs kernel: it is timed on its own (part of the JS time between kernels).
 * Usage: node --import tsx bench/profile.ts [--steps 20] [--warm-up 10] [--preset default|large] [--stage dft|sft|teacher-sft] [--top 25] [--by-shape]
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { presetConfig } from '../src/trainer/config';
import { initBackend } from '../src/trainer/backend';
import { buildBatch, disposeBatch } from '../src/trainer/models/batch';
import { Mllm } from '../src/trainer/models/mllm';
import { VisionEncoder } from '../src/trainer/models/vision';
import { Sampler } from '../src/trainer/data/sampler';
import { kdLossRows } from '../src/trainer/losses';
import { AdamW } from '../src/trainer/train/adamw';
import { loadData } from '../src/trainer/train/data';
import { OnlineTeacher } from '../src/trainer/train/step';
import { attentionKernelMs } from '../src/trainer/nn/attention';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const CE_ONLY = { ce: 1, res: 0, vis: 0, rel: 0 };

async function main() {
  const steps = Number(arg('steps', '20'));
  const preset = arg('preset', 'default');
  const stage = arg('stage', 'dft');
  const top = Number(arg('top', '25'));
  const byShape = process.argv.includes('--by-shape');
  const backend = await initBackend(arg('backend', 'auto') as 'auto');
  const cfg = presetConfig(preset);
  cfg.data.worldDir = '../world-' + preset;
  const data = loadData(cfg, resolve('.kd-cache', `bench-${preset}`, 'kd-experiment.json'), () => undefined);
  const vision = new VisionEncoder(cfg.vision, 1);
  const teacher = new Mllm(cfg.teacher, cfg.vision.dim, data.tokenizer.vocabSize, 2);
  const student = new Mllm(cfg.student, cfg.vision.dim, data.tokenizer.vocabSize, 3);
  const set = data.encoded('instructions').slice(0, 2000);
  const sc = cfg.stages.dft;
  const sampler = new Sampler(set.length, 0);
  const model = stage === 'teacher-sft' ? teacher : student;
  const src = stage === 'dft' ? new OnlineTeacher(teacher) : null;
  const weights = src ? sc.loss : CE_ONLY;
  const names = model.params.names(['projector.', 'lm.']);
  const trainable = new Map(names.map((n) => [n, model.params.get(n)]));
  const opt = new AdamW(sc.optimizer);
  const phase: Record<string, number> = { batch: 0, 'vision forward': 0, 'teacher forward': 0, 'student forward + backward': 0, AdamW: 0 };
  const kernels = new Map<string, { ms: number; n: number }>();
  let attnMs = 0;

  const oneStep = async (s: number, record: boolean) => {
    const clock = (name: string, t0: number) => { if (record) phase[name] += performance.now() - t0; };
    let t = performance.now();
    const idx = sampler.take(s * sc.batchSize, sc.batchSize);
    const batch = buildBatch(idx.map((i) => set[i]), data.np, data.patchDim, data.tokenizer.padId);
    clock('batch', t);
    const a0 = attentionKernelMs();
    const body = () => {
      t = performance.now();
      const feats = batch.patches ? tf.tidy(() => vision.forward(batch.patches!)) : null;
      clock('vision forward', t);
      t = performance.now();
      const to = src ? src.outputs(batch, feats, idx) : null;
      clock('teacher forward', t);
      t = performance.now();
      const { value, grads } = tf.variableGrads(() => {
        const o = model.forwardRows(batch, feats);
        return kdLossRows({ sRes: o.res, tRes: to?.res, targets: batch.targetIds, sVis: o.vis ?? undefined, tVis: to?.vis ?? undefined }, weights, cfg.distill).total;
      }, [...trainable.values()]);
      value.dataSync();
      clock('student forward + backward', t);
      t = performance.now();
      const byName = new Map(names.map((n) => [n, grads[trainable.get(n)!.name]]));
      opt.step(trainable, byName, 1e-4, 1);
      clock('AdamW', t);
      tf.dispose([value, ...Object.values(grads), feats ?? [], to?.res ?? [], to?.vis ?? []].flat());
    };
    if (record) {
      const info = await tf.profile(body);
      for (const k of info.kernels) {
        // Scopes (customGrad, op wrappers) are recorded beside the kernels they run: count kernels only.
        if (!tf.getKernel(k.name, tf.getBackend())) continue;
        const ms = (await k.kernelTimeMs) as number;
        const key = byShape ? `${k.name} ${k.inputShapes.map((sh) => `[${sh}]`).join(' ')}` : k.name;
        const e = kernels.get(key) ?? { ms: 0, n: 0 };
        e.ms += typeof ms === 'number' ? ms : 0;
        e.n += 1;
        kernels.set(key, e);
      }
      attnMs += attentionKernelMs() - a0;
    } else body();
    disposeBatch(batch);
  };
  // Warm-up steps (JIT, the wasm heap's growth, per-length tables), then a steady state.
  const warmUp = Number(arg('warm-up', '10'));
  for (let s = 0; s < warmUp; s++) await oneStep(s, false);
  // Step time without the profiler's own overhead: the median step (as bench:step reports), and the mean.
  for (const k of Object.keys(phase)) phase[k] = 0;
  const stepMs: number[] = [];
  for (let s = warmUp; s < warmUp + steps; s++) {
    const t0 = performance.now();
    await oneStep(s, false);
    stepMs.push(performance.now() - t0);
  }
  const plainMs = [...stepMs].sort((a, b) => a - b)[Math.floor(steps / 2)];
  const meanMs = stepMs.reduce((a, b) => a + b, 0) / steps;
  // Phases are recorded in the profiled pass (kernel timers add little on a synchronous backend).
  for (let s = warmUp; s < warmUp + steps; s++) await oneStep(s, true);
  const totalKernel = [...kernels.values()].reduce((a, e) => a + e.ms, 0);
  const lines = [
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, backend ${backend.name}, ${new Date().toISOString()}`,
    `preset ${preset}, stage ${stage}, batch ${sc.batchSize}, ${steps} steps, one thread: ${plainMs.toFixed(1)} ms a step unprofiled (median; mean ${meanMs.toFixed(1)})`,
    'phases (ms a step):',
    ...Object.entries(phase).map(([k, v]) => `  ${k.padEnd(28)} ${(v / steps).toFixed(2).padStart(8)}`),
    `kernels (ms a step, calls a step; ${(totalKernel / steps).toFixed(1)} ms in tfjs kernels, the rest is JS between them):`,
    ...[...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
      .map(([k, e]) => `  ${k.padEnd(byShape ? 60 : 28)} ${(e.ms / steps).toFixed(2).padStart(8)} ${(e.n / steps).toFixed(0).padStart(6)}`),
    `fused attention op (its wasm kernels and operand copies: not a tfjs kernel, part of the JS time above): ${(attnMs / steps).toFixed(2)} ms a step`,
  ];
  console.log(lines.join('\n'));
  const out = resolve(__dirname, 'results', `profile-${preset}-${stage}.txt`);
  writeFileSync(out, lines.join('\n') + '\n');
  console.log(`written to ${out}`);
  opt.dispose();
}
main();
