/**
 * `npm run bench:step`: median time of the training steps at a preset's sizes, beside a PyTorch
 * peer of the same models and steps (bench/peer/kd_step.py) timed on the same batches in the same
 * run: the DFT step (teacher forward + student forward/backward + AdamW; also with the teacher
 * replayed from the teacher-output cache), the SFT step (student, CE only) and the teacher's own
 * SFT step. Also the samples/s of a training loop that includes
 * sampling and batching, and the tensor count before and after the timed steps (must not grow).
 * Usage: node --import tsx bench/step.ts [--steps 100] [--preset default|large] [--samples 2000] [--backend wasm] [--no-peer]
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { presetConfig } from '../src/trainer/config';
import type { BackendName } from '../src/trainer/config/types';
import { initBackend } from '../src/trainer/backend';
import { buildBatch, disposeBatch, type Batch, type EncodedSample } from '../src/trainer/models/batch';
import { Mllm } from '../src/trainer/models/mllm';
import { cachedTensorCount } from '../src/trainer/nn/attention';
import { featureBlocks, VisionEncoder } from '../src/trainer/models/vision';
import { Sampler } from '../src/trainer/data/encode';
import { AdamW } from '../src/trainer/train/adamw';
import { loadData } from '../src/trainer/train/data';
import { mllmLossAndGrads, OnlineTeacher, type TeacherSource } from '../src/trainer/train/step';
import { CachedTeacher, teacherCacheKey } from '../src/trainer/train/teacherCache';
import { pooledStep, StepPool } from '../src/trainer/train/stepPool';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const CE_ONLY = { ce: 1, res: 0, vis: 0, rel: 0 };

/** The first interpreter that imports torch, or undefined. */
function findTorchPython(): string | undefined {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

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
  // The batches come from the first --samples instructions (the cache is built over those).
  const set = data.encoded('instructions').slice(0, Number(arg('samples', '2000')));
  const sc = cfg.stages.dft;
  const sampler = new Sampler(set.length, 0);
  const batchAt = (s: number): EncodedSample[] => sampler.take(s * sc.batchSize, sc.batchSize).map((i) => set[i]);
  const params = (m: Mllm) => new Map(m.params.names(['projector.', 'lm.']).map((n) => [n, m.params.get(n)]));

  /** Median ms of `n` steps of `model` (with a teacher source when given) and the tensor counts. */
  const run = (model: Mllm, src: TeacherSource | null, n: number) => {
    const trainable = params(model);
    const opt = new AdamW(sc.optimizer);
    const times: number[] = [];
    const weights = src ? sc.loss : CE_ONLY;
    const before = tf.memory().numTensors - cachedTensorCount();
    for (let s = 0; s < n; s++) {
      const t0 = performance.now();
      const idx = sampler.take(s * sc.batchSize, sc.batchSize);
      const batch = buildBatch(idx.map((i) => set[i]), data.np, data.patchDim, data.tokenizer.padId);
      const r = mllmLossAndGrads(batch, vision, model, src, [...trainable.keys()], weights, cfg.distill, idx);
      disposeBatch(batch);
      opt.step(trainable, r.grads, 1e-4, 1);
      tf.dispose([...r.grads.values()]);
      times.push(performance.now() - t0);
    }
    // First-step allocations (optimizer moments) are not a leak: count from after step 1.
    opt.dispose();
    return { ms: median(times.slice(Math.min(5, n - 1))), times, before, after: tf.memory().numTensors - cachedTensorCount() };
  };

  // The peer gets the very batches ours trains on (same tokens, images and loss rows).
  const peerBatches = Array.from({ length: 20 }, (_, s) => {
    const b: Batch = buildBatch(batchAt(s), data.np, data.patchDim, data.tokenizer.padId);
    const out = {
      B: b.B, L: b.L, Bi: b.Bi, Nt: b.Nt,
      tokens: Array.from(b.tokens.dataSync()), srcIndex: Array.from(b.srcIndex.dataSync()),
      lossRows: Array.from(b.lossRows.dataSync()), targetIds: Array.from(b.targetIds.dataSync()),
      patches: b.patches ? Array.from(b.patches.dataSync()) : [],
    };
    disposeBatch(b);
    return out;
  });

  const online = new OnlineTeacher(teacher);
  const cacheDir = mkdtempSync(join(tmpdir(), 'kd-bench-cache-'));
  const tb = performance.now();
  const cached = CachedTeacher.openOrBuild(cacheDir, teacherCacheKey([null, null], set), set, set.map((_, i) => i), teacher, vision, data.np, data.patchDim, data.tokenizer.padId, () => undefined);
  const buildS = (performance.now() - tb) / 1000;
  run(teacher, null, 5);
  run(student, online, 10); // warm-up: rope/mask caches for every padded length
  const warm = tf.memory().numTensors - cachedTensorCount();
  const dft = run(student, online, steps);
  const dftCached = run(student, cached, steps);
  const sft = run(student, null, Math.max(10, Math.floor(steps / 2)));

  /** The same steps over 2 training threads (stepPool.ts), as a run with workers = 2 trains. */
  const runPooled = async (model: Mllm, src: TeacherSource | null, cacheDirOf: string | null, n: number) => {
    const trainable = params(model);
    const names = [...trainable.keys()];
    const weights = src ? sc.loss : CE_ONLY;
    const spec = (m: Mllm) => ({ cfg: m.cfg, dVision: m.dVision, vocab: m.vocab, params: m.params.export() });
    const pool = await StepPool.start(1, {
      backend: tf.getBackend(), vision: { cfg: vision.cfg, params: vision.params.export('vision.') }, student: spec(model),
      teacher: cacheDirOf ? { cacheDir: cacheDirOf } : src ? spec(teacher) : null,
      trainable: names, weights, distill: cfg.distill, np: data.np, patchDim: data.patchDim, padId: data.tokenizer.padId,
    });
    const opt = new AdamW(sc.optimizer);
    const times: number[] = [];
    for (let s = 0; s < n; s++) {
      const t0 = performance.now();
      const idx = sampler.take(s * sc.batchSize, sc.batchSize);
      const r = await pooledStep(pool, idx.map((i) => set[i]), idx, names, (samples, ix, share) => {
        const b = buildBatch(samples, data.np, data.patchDim, data.tokenizer.padId);
        try {
          return mllmLossAndGrads(b, vision, model, src, names, weights, cfg.distill, ix, share);
        } finally {
          disposeBatch(b);
        }
      });
      opt.step(trainable, r.grads, 1e-4, 1);
      tf.dispose([...r.grads.values()]);
      pool.setParams(names.map((nm) => trainable.get(nm)!.dataSync() as Float32Array));
      times.push(performance.now() - t0);
    }
    opt.dispose();
    await pool.close();
    return median(times.slice(Math.min(5, n - 1)));
  };
  const cachedDir = cached.dir;
  const tsft = run(teacher, null, Math.max(10, Math.floor(steps / 2)));
  const half = Math.max(10, Math.floor(steps / 2));
  const dft2 = await runPooled(student, online, null, half);
  const dftCached2 = await runPooled(student, cached, cachedDir, half);
  const sft2 = await runPooled(student, null, null, half);
  const tsft2 = await runPooled(teacher, null, null, half);
  cached.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
  const perSec = (ms: number) => (sc.batchSize / (ms / 1000)).toFixed(0);
  const lines = [
    `backend ${backend.name}, preset ${preset}: teacher ${teacher.params.count()} params (LM ${cfg.teacher.lm.dim} × ${cfg.teacher.lm.layers}), student ${student.params.count()} (LM ${cfg.student.lm.dim} × ${cfg.student.lm.layers}), vision ${vision.params.count()}; batch ${sc.batchSize}, seq ≤ ${cfg.data.maxLength}, vocab ${data.tokenizer.vocabSize}`,
    `ours  DFT step (teacher fwd + student fwd/bwd + AdamW): median ${dft.ms.toFixed(1)} ms over ${dft.times.length} steps, ${perSec(dft.ms)} samples/s`,
    `ours  DFT step, teacher from the output cache:         median ${dftCached.ms.toFixed(1)} ms, ${perSec(dftCached.ms)} samples/s (cache of ${set.length} samples built once in ${buildS.toFixed(1)} s)`,
    `ours  SFT step (student only):                         median ${sft.ms.toFixed(1)} ms, ${perSec(sft.ms)} samples/s`,
    `ours  teacher SFT step (teacher fwd/bwd + AdamW):       median ${tsft.ms.toFixed(1)} ms, ${perSec(tsft.ms)} samples/s`,
    `ours  2 threads (workers = 2): DFT ${dft2.toFixed(1)} ms (${(dft.ms / dft2).toFixed(2)}x), cached DFT ${dftCached2.toFixed(1)} ms (${(dftCached.ms / dftCached2).toFixed(2)}x), SFT ${sft2.toFixed(1)} ms (${(sft.ms / sft2).toFixed(2)}x), teacher SFT ${tsft2.toFixed(1)} ms (${(tsft.ms / tsft2).toFixed(2)}x)`,
    `ours  DFT / SFT: ${(dft.ms / sft.ms).toFixed(2)} online, ${(dftCached.ms / sft.ms).toFixed(2)} cached; loop with sampling and batching: ${(sc.batchSize * dft.times.length / (dft.times.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)} samples/s (DFT, mean over all steps)`,
    `tensors (excluding ${cachedTensorCount()} cached rotary/mask tables): ${warm} after warm-up, ${dft.before} before the DFT steps, ${dft.after} after ${steps} DFT steps (growth ${dft.after - dft.before}), ${sft.after} after the SFT steps`,
  ];
  console.log(lines.join('\n'));
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`;
  const report = [`machine: ${machine}`, ...lines];

  if (!process.argv.includes('--no-peer')) {
    const py = findTorchPython();
    if (!py) {
      console.log('peer: no python3 that imports torch; install it for the comparison: apt-get install python3-torch libopenblas0-pthread');
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'kd-bench-peer-'));
      const spec = join(dir, 'spec.json');
      const threads = Number(arg('peer-threads', '2'));
      writeFileSync(spec, JSON.stringify({
        config: cfg, np: data.np, patchDim: data.patchDim, vocab: data.tokenizer.vocabSize,
        featureBlocks: featureBlocks(cfg.vision), weights: sc.loss, steps, threads, batches: peerBatches,
      }));
      const r = spawnSync(py, [resolve(__dirname, 'peer/kd_step.py'), spec], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
      rmSync(dir, { recursive: true, force: true });
      if (r.status !== 0) {
        console.log(`peer failed (exit ${r.status}):\n${r.stderr}`);
        process.exitCode = 1;
      } else {
        const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torch: string; threads: number; dftMs: number; sftMs: number; teacherSftMs: number };
        const peerLines = [
          `peer  PyTorch ${p.torch} (${py}, ${p.threads} threads, OPENBLAS_NUM_THREADS=1), same batches:`,
          `peer  DFT step median ${p.dftMs.toFixed(1)} ms, SFT ${p.sftMs.toFixed(1)} ms, teacher SFT ${p.teacherSftMs.toFixed(1)} ms`,
          `ratio ours / peer, one thread: DFT ${(dft.ms / p.dftMs).toFixed(2)}x (cached teacher: ${(dftCached.ms / p.dftMs).toFixed(2)}x), SFT ${(sft.ms / p.sftMs).toFixed(2)}x, teacher SFT ${(tsft.ms / p.teacherSftMs).toFixed(2)}x`,
          `ratio ours / peer, 2 threads each: DFT ${(dft2 / p.dftMs).toFixed(2)}x (cached teacher: ${(dftCached2 / p.dftMs).toFixed(2)}x), SFT ${(sft2 / p.sftMs).toFixed(2)}x, teacher SFT ${(tsft2 / p.teacherSftMs).toFixed(2)}x`,
        ];
        console.log(peerLines.join('\n'));
        report.push(...peerLines);
      }
    }
  }
  // The figures the README quotes come from this file (machine otherwise idle when recorded).
  const out = resolve(__dirname, 'results', `step-${preset}.txt`);
  writeFileSync(out, report.join('\n') + '\n');
  console.log(`written to ${out}`);
  if (dft.after > dft.before) {
    console.error('tensor count grew during the DFT steps: leak');
    process.exitCode = 1;
  }
}
main();
