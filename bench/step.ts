/**
 * `npm run bench:step`: median time of the training steps at a preset's sizes, beside a PyTorch
 * peer of the same models and steps (bench/peer/kd_step.py) timed on the same batches in the same
 * run: the DFT step (teacher forward + student forward/backward + AdamW; also with the teacher
 * replayed from the teacher-output cache), the SFT step (student, CE only) and the teacher's own
 * SFT step. The ratios come from rounds that alternate a block of each of our steps with the
 * peer's (this machine is shared: its speed drifts by tens of percent within minutes, and pairing
 * keeps a drift out of the ratios), the median of the rounds' ratios with their range. Also the
 * two whole steps at once on the two threads against one alone (the ceiling of any two-way split
 * of a step on this machine), the CPU cores the process keeps busy on one and on two threads,
 * the samples/s of a training loop that includes
 * sampling and batching, and the tensor count before and after the timed steps (must not grow);
 * then `--long` (default 1000) more DFT steps with the tensor count and the process RSS every
 * tenth of them (both must stay flat).
 * Usage: node --import tsx bench/step.ts [--steps 100] [--long 1000] [--rounds 5] [--round-steps 20] [--preset default|large] [--samples 2000] [--backend wasm] [--no-peer]
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { presetConfig } from '../src/trainer/config';
import type { BackendName } from '../src/trainer/config/types';
import { initBackend } from '../src/trainer/backend';
import { buildBatch, disposeBatch, type Batch } from '../src/trainer/models/batch';
import type { EncodedSample } from '../src/trainer/data/encodedSample';
import { Mllm } from '../src/trainer/models/mllm';
import { cachedTensorCount } from '../src/trainer/nn/attention';
import { featureBlocks, VisionEncoder } from '../src/trainer/models/vision';
import { Sampler } from '../src/trainer/data/sampler';
import { AdamW } from '../src/trainer/train/adamw';
import { loadData } from '../src/trainer/train/data';
import { mllmLossAndGrads, OnlineTeacher, type TeacherSource } from '../src/trainer/train/step';
import { CachedTeacher, teacherCacheKey } from '../src/trainer/train/teacherCache';
import { batchShare, pooledStep, StepPool } from '../src/trainer/train/stepPool';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const CE_ONLY = { ce: 1, res: 0, vis: 0, rel: 0 };
/** Mean CPU cores the process (all threads) kept busy since `cpu0`/`wall0`: CPU time over wall time. */
const coresBusy = (cpu0: NodeJS.CpuUsage, wall0: number) => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1000 / (performance.now() - wall0);
};

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
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
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
    return { ms: median(times.slice(Math.min(5, n - 1))), times, before, after: tf.memory().numTensors - cachedTensorCount(), cores: coresBusy(cpu0, wall0) };
  };

  // The peer gets the very batches ours trains on (same tokens, images and loss rows).
  const peerBatches = Array.from({ length: 20 }, (_, s) => {
    const b: Batch = buildBatch(batchAt(s), data.np, data.patchDim, data.tokenizer.padId);
    const out = {
      B: b.B, L: b.L, N: b.N, Bi: b.Bi, Nt: b.Nt, padId: data.tokenizer.padId,
      tokens: Array.from(b.tokens.dataSync()), srcIndex: Array.from(b.srcIndex.dataSync()), unpack: Array.from(b.unpack.dataSync()),
      lossRows: Array.from(b.lossRows.dataSync()), targetIds: Array.from(b.targetIds.dataSync()),
      flatLossRows: [...b.targetPos.dataSync(), ...(b.visualPos ? b.visualPos.dataSync() : [])],
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

  /** One helper thread holding replicas of `model` (and the teacher online, or its output cache), as a run with workers = 2 has. */
  const helper = (model: Mllm, names: string[], weights: typeof CE_ONLY, src: TeacherSource | null, cacheDirOf: string | null) => {
    const spec = (m: Mllm) => ({ cfg: m.cfg, dVision: m.dVision, vocab: m.vocab, params: m.params.export() });
    return StepPool.start(1, {
      backend: tf.getBackend(), vision: { cfg: vision.cfg, params: vision.params.export('vision.') }, student: spec(model),
      teacher: cacheDirOf ? { cacheDir: cacheDirOf } : src ? spec(teacher) : null,
      trainable: names, weights, distill: cfg.distill, np: data.np, patchDim: data.patchDim, padId: data.tokenizer.padId,
    });
  };

  /** The same steps over 2 training threads (stepPool.ts), as a run with workers = 2 trains. */
  const pooledCores: Record<string, number> = {};
  const runPooled = async (model: Mllm, src: TeacherSource | null, cacheDirOf: string | null, n: number, label?: string) => {
    const trainable = params(model);
    const names = [...trainable.keys()];
    const weights = src ? sc.loss : CE_ONLY;
    const pool = await helper(model, names, weights, src, cacheDirOf);
    const opt = new AdamW(sc.optimizer);
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
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
    if (label) pooledCores[label] = coresBusy(cpu0, wall0);
    opt.dispose();
    await pool.close();
    return median(times.slice(Math.min(5, n - 1)));
  };
  /**
   * The machine's ceiling for any two-way split: two WHOLE steps at once, one on this thread and
   * one on a helper (no split, no gradient exchange), against one step alone. Two cores that share
   * caches and memory bandwidth run two copies of the same work slower than one: a split of one
   * step over both can reach at most 2 × alone / pair.
   */
  const runPair = async (model: Mllm, src: TeacherSource | null, n: number) => {
    const trainable = params(model);
    const names = [...trainable.keys()];
    const weights = src ? sc.loss : CE_ONLY;
    const pool = await helper(model, names, weights, src, null);
    const times: number[] = [];
    for (let s = 0; s < n; s++) {
      const idx = sampler.take(s * sc.batchSize, sc.batchSize);
      const samples = idx.map((i) => set[i]);
      const t0 = performance.now();
      const other = pool.run([{ samples, indices: idx, share: batchShare(samples) }]);
      const b = buildBatch(samples, data.np, data.patchDim, data.tokenizer.padId);
      const r = mllmLossAndGrads(b, vision, model, src, names, weights, cfg.distill, idx);
      disposeBatch(b);
      await other;
      times.push(performance.now() - t0);
      tf.dispose([...r.grads.values()]);
    }
    await pool.close();
    return median(times.slice(Math.min(5, n - 1)));
  };
  const cachedDir = cached.dir;
  const tsft = run(teacher, null, Math.max(10, Math.floor(steps / 2)));
  const half = Math.max(10, Math.floor(steps / 2));
  const dft2 = await runPooled(student, online, null, half, 'DFT');
  const dftCached2 = await runPooled(student, cached, cachedDir, half, 'cached DFT');
  const sft2 = await runPooled(student, null, null, half, 'SFT');
  const tsft2 = await runPooled(teacher, null, null, half, 'teacher SFT');
  const dftAlone = run(student, online, half + 5).ms;
  const dftPair = await runPair(student, online, half);
  const sftAlone = run(student, null, half + 5).ms;
  const sftPair = await runPair(student, null, half);
  const tsftAlone = run(teacher, null, half + 5).ms;
  const tsftPair = await runPair(teacher, null, half);

  // Memory over a long stretch of DFT steps (online teacher: every code path of a step).
  const longSteps = Number(arg('long', '1000'));
  const memory: { step: number; tensors: number; rssMb: number }[] = [];
  if (longSteps > 0) {
    const trainable = params(student);
    const opt = new AdamW(sc.optimizer);
    const every = Math.max(1, Math.floor(longSteps / 10));
    for (let s = 0; s <= longSteps; s++) {
      if (s % every === 0) memory.push({ step: s, tensors: tf.memory().numTensors - cachedTensorCount(), rssMb: process.memoryUsage().rss / 2 ** 20 });
      if (s === longSteps) break;
      const idx = sampler.take(s * sc.batchSize, sc.batchSize);
      const batch = buildBatch(idx.map((i) => set[i]), data.np, data.patchDim, data.tokenizer.padId);
      const r = mllmLossAndGrads(batch, vision, student, online, [...trainable.keys()], sc.loss, cfg.distill, idx);
      disposeBatch(batch);
      opt.step(trainable, r.grads, 1e-4, 1);
      tf.dispose([...r.grads.values()]);
    }
    opt.dispose();
  }
  const perSec = (ms: number) => (sc.batchSize / (ms / 1000)).toFixed(0);
  const lines = [
    `backend ${backend.name}, preset ${preset}: teacher ${teacher.params.count()} params (LM ${cfg.teacher.lm.dim} × ${cfg.teacher.lm.layers}), student ${student.params.count()} (LM ${cfg.student.lm.dim} × ${cfg.student.lm.layers}), vision ${vision.params.count()}; batch ${sc.batchSize}, seq ≤ ${cfg.data.maxLength}, vocab ${data.tokenizer.vocabSize}`,
    `ours  DFT step (teacher fwd + student fwd/bwd + AdamW): median ${dft.ms.toFixed(1)} ms over ${dft.times.length} steps, ${perSec(dft.ms)} samples/s`,
    `ours  DFT step, teacher from the output cache:         median ${dftCached.ms.toFixed(1)} ms, ${perSec(dftCached.ms)} samples/s (cache of ${set.length} samples built once in ${buildS.toFixed(1)} s)`,
    `ours  SFT step (student only):                         median ${sft.ms.toFixed(1)} ms, ${perSec(sft.ms)} samples/s`,
    `ours  teacher SFT step (teacher fwd/bwd + AdamW):       median ${tsft.ms.toFixed(1)} ms, ${perSec(tsft.ms)} samples/s`,
    `ours  2 threads (workers = 2): DFT ${dft2.toFixed(1)} ms (${(dft.ms / dft2).toFixed(2)}x), cached DFT ${dftCached2.toFixed(1)} ms (${(dftCached.ms / dftCached2).toFixed(2)}x), SFT ${sft2.toFixed(1)} ms (${(sft.ms / sft2).toFixed(2)}x), teacher SFT ${tsft2.toFixed(1)} ms (${(tsft.ms / tsft2).toFixed(2)}x)`,
    `ours  CPU cores busy (process CPU time / wall time, every thread): 1 thread DFT ${dft.cores.toFixed(2)}, cached DFT ${dftCached.cores.toFixed(2)}, SFT ${sft.cores.toFixed(2)}, teacher SFT ${tsft.cores.toFixed(2)}; 2 threads ${Object.entries(pooledCores).map(([k, c]) => `${k} ${c.toFixed(2)}`).join(', ')}`,
    `ours  two whole steps at once (this thread + a helper, no split) vs one alone: DFT ${dftPair.toFixed(1)} vs ${dftAlone.toFixed(1)} ms, SFT ${sftPair.toFixed(1)} vs ${sftAlone.toFixed(1)} ms, teacher SFT ${tsftPair.toFixed(1)} vs ${tsftAlone.toFixed(1)} ms: the ceiling of a two-way split here is ${(2 * dftAlone / dftPair).toFixed(2)}x (DFT), ${(2 * sftAlone / sftPair).toFixed(2)}x (SFT), ${(2 * tsftAlone / tsftPair).toFixed(2)}x (teacher SFT)`,
    `ours  DFT / SFT: ${(dft.ms / sft.ms).toFixed(2)} online, ${(dftCached.ms / sft.ms).toFixed(2)} cached; loop with sampling and batching: ${(sc.batchSize * dft.times.length / (dft.times.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)} samples/s (DFT, mean over all steps)`,
    `tensors (excluding ${cachedTensorCount()} cached rotary/mask tables): ${warm} after warm-up, ${dft.before} before the DFT steps, ${dft.after} after ${steps} DFT steps (growth ${dft.after - dft.before}), ${sft.after} after the SFT steps`,
  ];
  if (memory.length) {
    const rss = memory.map((m) => m.rssMb);
    lines.push(`memory over ${longSteps} more DFT steps (every ${memory[1]?.step ?? longSteps}): tensors ${memory.map((m) => m.tensors).join(' ')}; RSS MB ${rss.map((x) => x.toFixed(0)).join(' ')} (growth from the second sample to the last: ${(rss[rss.length - 1] - rss[Math.min(1, rss.length - 1)]).toFixed(0)} MB)`);
  }
  console.log(lines.join('\n'));
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}`;
  const report = [`machine: ${machine}`, ...lines];

  if (!process.argv.includes('--no-peer')) {
    const py = findTorchPython();
    if (!py) {
      console.log('peer: no python3 that imports torch; install it for the comparison: apt-get install python3-torch libopenblas0-pthread');
    } else {
      // Rounds: a block of each of our steps (1 and 2 threads), then the peer's same steps, so
      // that a change of machine load (this machine is shared) hits both sides of a ratio.
      const rounds = Number(arg('rounds', '5'));
      const blk = Number(arg('round-steps', '20'));
      const dir = mkdtempSync(join(tmpdir(), 'kd-bench-peer-'));
      const spec = join(dir, 'spec.json');
      const threads = Number(arg('peer-threads', '2'));
      writeFileSync(spec, JSON.stringify({
        config: cfg, np: data.np, patchDim: data.patchDim, vocab: data.tokenizer.vocabSize,
        featureBlocks: featureBlocks(cfg.vision), weights: sc.loss, steps: blk, threads, batches: peerBatches,
      }));
      type Kinds = 'dft' | 'dftCached' | 'sft' | 'tsft';
      type PeerKinds = 'dft' | 'sft' | 'tsft' | 'dftPadded' | 'sftPadded' | 'tsftPadded';
      const per: { ours1: Record<Kinds, number>; ours2: Record<Kinds, number>; peer: Record<PeerKinds, number> }[] = [];
      let peerInfo = { torch: '?', threads: 0 };
      let failed = '';
      for (let r = 0; r < rounds && !failed; r++) {
        const tHalf = Math.max(5, Math.floor(blk / 2));
        const ours1 = { dft: run(student, online, blk + 3).ms, dftCached: run(student, cached, blk + 3).ms, sft: run(student, null, blk + 3).ms, tsft: run(teacher, null, tHalf + 3).ms };
        const ours2 = { dft: await runPooled(student, online, null, blk + 3), dftCached: await runPooled(student, cached, cachedDir, blk + 3), sft: await runPooled(student, null, null, blk + 3), tsft: await runPooled(teacher, null, null, tHalf + 3) };
        const pr = spawnSync(py, [resolve(__dirname, 'peer/kd_step.py'), spec], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
        if (pr.status !== 0) { failed = `peer failed (exit ${pr.status}):\n${pr.stderr}`; break; }
        const p = JSON.parse(pr.stdout.trim().split('\n').pop()!) as { torch: string; threads: number } & Record<'dftMs' | 'sftMs' | 'teacherSftMs' | 'dftPaddedMs' | 'sftPaddedMs' | 'teacherSftPaddedMs', number>;
        peerInfo = p;
        per.push({ ours1, ours2, peer: { dft: p.dftMs, sft: p.sftMs, tsft: p.teacherSftMs, dftPadded: p.dftPaddedMs, sftPadded: p.sftPaddedMs, tsftPadded: p.teacherSftPaddedMs } });
      }
      rmSync(dir, { recursive: true, force: true });
      if (failed) {
        console.log(failed);
        process.exitCode = 1;
      } else {
        const med = (xs: number[]) => median(xs);
        const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
        const ratio = (side: 'ours1' | 'ours2', k: Kinds, pk: PeerKinds) => {
          const xs = per.map((x) => x[side][k] / x.peer[pk]);
          return `${med(xs).toFixed(2)}x (${span(xs)})`;
        };
        const peerLines = [
          `peer  PyTorch ${peerInfo.torch} (${py}, ${peerInfo.threads} threads, OPENBLAS_NUM_THREADS=1), same batches, ${per.length} rounds alternating with ours (${blk} steps per kind and round; the teacher's ${Math.max(5, Math.floor(blk / 2))}):`,
          `peer  packed (the decoder on the real tokens only, as ours): DFT step median ${med(per.map((x) => x.peer.dft)).toFixed(1)} ms (rounds ${span(per.map((x) => x.peer.dft))}), SFT ${med(per.map((x) => x.peer.sft)).toFixed(1)} ms, teacher SFT ${med(per.map((x) => x.peer.tsft)).toFixed(1)} ms`,
          `peer  padded (the whole [B, L] grid, as Hugging Face / TinyLLaVA batches): DFT ${med(per.map((x) => x.peer.dftPadded)).toFixed(1)} ms, SFT ${med(per.map((x) => x.peer.sftPadded)).toFixed(1)} ms, teacher SFT ${med(per.map((x) => x.peer.tsftPadded)).toFixed(1)} ms`,
          `ours  in the same rounds: DFT ${med(per.map((x) => x.ours1.dft)).toFixed(1)} ms (2 threads ${med(per.map((x) => x.ours2.dft)).toFixed(1)}), cached DFT ${med(per.map((x) => x.ours1.dftCached)).toFixed(1)} (${med(per.map((x) => x.ours2.dftCached)).toFixed(1)}), SFT ${med(per.map((x) => x.ours1.sft)).toFixed(1)} (${med(per.map((x) => x.ours2.sft)).toFixed(1)}), teacher SFT ${med(per.map((x) => x.ours1.tsft)).toFixed(1)} (${med(per.map((x) => x.ours2.tsft)).toFixed(1)})`,
          `ratio ours / packed peer (like for like), median of the rounds' ratios (range), ours on one thread (the peer on ${peerInfo.threads}): DFT ${ratio('ours1', 'dft', 'dft')} (cached teacher: ${ratio('ours1', 'dftCached', 'dft')}), SFT ${ratio('ours1', 'sft', 'sft')}, teacher SFT ${ratio('ours1', 'tsft', 'tsft')}`,
          `ratio ours / packed peer, 2 threads each: DFT ${ratio('ours2', 'dft', 'dft')} (cached teacher: ${ratio('ours2', 'dftCached', 'dft')}), SFT ${ratio('ours2', 'sft', 'sft')}, teacher SFT ${ratio('ours2', 'tsft', 'tsft')}`,
          `ratio ours / padded peer, 2 threads each: DFT ${ratio('ours2', 'dft', 'dftPadded')} (cached teacher: ${ratio('ours2', 'dftCached', 'dftPadded')}), SFT ${ratio('ours2', 'sft', 'sftPadded')}, teacher SFT ${ratio('ours2', 'tsft', 'tsftPadded')}`,
        ];
        console.log(peerLines.join('\n'));
        report.push(...peerLines);
      }
    }
  }
  cached.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
  // The figures the README quotes come from this file (machine otherwise idle when recorded).
  const out = resolve(__dirname, 'results', `step-${preset}.txt`);
  writeFileSync(out, report.join('\n') + '\n');
  console.log(`written to ${out}`);
  if (dft.after > dft.before || (memory.length && memory[memory.length - 1].tensors > memory[0].tensors)) {
    console.error('tensor count grew during the DFT steps: leak');
    process.exitCode = 1;
  }
}
main();
