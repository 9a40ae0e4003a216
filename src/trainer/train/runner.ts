/**
 * Runs the stages of one run folder: builds or loads each stage's models, trains with AdamW and
 * the cosine schedule, logs every loss term, evaluates, writes samples and checkpoints, and
 * stops gracefully (resumable) when asked. Owns the run folder's status.json.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig, LossWeights } from '../config/types';
import type { LossTerm, MetricsLine, RunState, TrainerEvent } from '../../common/runFormat';
import { RunWriter } from '../io/runDir';
import { buildBatch, disposeBatch } from '../models/batch';
import type { EncodedSample } from '../data/encodedSample';
import { Mllm } from '../models/mllm';
import { cachedTensorCount } from '../nn/attention';
import { VisionEncoder, numPatches } from '../models/vision';
import { randomNormal, type TensorData } from '../nn/params';
import { mulberry32 } from '../../common/random';
import { Sampler } from '../data/sampler';
import { AdamW, cosineLr } from './adamw';
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../io/checkpoint';
import type { DataBundle } from './data';
import { evaluate, generateAnswers } from './evaluate';
import { isCorrect } from '../data/answers';
import { stageConfig, stageSeed, totalSteps, trainableModules, visionCheckpoint, type StagePlan } from '../../common/stagePlan';
import { mllmLossAndGrads, OnlineTeacher, visionLossAndGrads, type StepResult, type TeacherSource } from './step';
import { cacheBytes, CachedTeacher, defaultCacheDir, describeStats, teacherCacheKey } from './teacherCache';
import type { RowFormat } from './teacherCacheCodec';
import { probeVision } from './visionProbe';
import { DivergenceMonitor } from './divergence';
import { pooledStep, StepPool } from './stepPool';
import { resolveWorkers, stageStepGflop } from './stepCost';
import { RunEta, type RemainingStage } from './runEta';
import type { VisionObjective } from './visionObjective';

export interface RunContext {
  cfg: ExperimentConfig;
  experimentFile: string;
  data: DataBundle;
  writer: RunWriter;
  stages: StagePlan[];
  /** Other run folders whose checkpoints may serve as stage inputs (`--from`). */
  fromDirs: string[];
  emit: (e: TrainerEvent) => void;
  log: (m: string) => void;
  /** A warning (defaults to log). */
  warn?: (m: string) => void;
  stop: { requested: boolean };
  /** Stages already done (resume) and the in-stage resume checkpoint, if any. */
  completed: string[];
  resume?: LoadedCheckpoint;
}

/** Finds `<name>.safetensors` in this run or a --from run. */
export function findCheckpoint(ctx: Pick<RunContext, 'writer' | 'fromDirs'>, name: string, neededBy: string): string {
  const dirs = [ctx.writer.dir, ...ctx.fromDirs];
  for (const d of dirs) {
    const p = join(d, 'checkpoints', `${name}.safetensors`);
    if (existsSync(p)) return p;
  }
  throw new Error(`stage ${neededBy} needs checkpoint '${name}.safetensors', found in none of: ${dirs.map((d) => join(d, 'checkpoints')).join(', ')}. Run the stage that writes it first, or pass --from <run folder> holding it.`);
}

function buildVision(ctx: RunContext, neededBy: string): VisionEncoder {
  const v = new VisionEncoder(ctx.cfg.vision, ctx.cfg.teacher.seed * 1000 + 1);
  const name = visionCheckpoint(ctx.cfg);
  if (name) {
    const path = findCheckpoint(ctx, name, neededBy);
    v.params.load(loadCheckpoint(path).group('vision.'), path);
  }
  return v;
}

function buildModel(ctx: RunContext, which: 'teacher' | 'student', init: string | null, neededBy: string, initSeed: number): Mllm {
  const m = new Mllm(ctx.cfg[which], ctx.cfg.vision.dim, ctx.data.tokenizer.vocabSize, initSeed);
  if (init) {
    const path = findCheckpoint(ctx, init, neededBy);
    const ck = loadCheckpoint(path);
    m.params.load(ck.tensors, path);
  }
  return m;
}

/**
 * Runs every stage of ctx.stages not yet completed (and accepted by `only`, when given: the
 * teacher store runs the teacher side first). Step totals count all of ctx.stages. Returns the
 * final state.
 */
export async function runStages(ctx: RunContext, only?: (s: StagePlan) => boolean): Promise<RunState> {
  const totalAll = totalSteps(ctx.cfg, ctx.stages);
  let globalBase = totalSteps(ctx.cfg, ctx.stages.filter((s) => ctx.completed.includes(s.id)));
  const eta = new RunEta();
  for (const stage of ctx.stages) {
    if (ctx.completed.includes(stage.id)) continue;
    if (only && !only(stage)) continue;
    const resume = ctx.resume && ctx.resume.meta.stage === stage.id ? ctx.resume : undefined;
    const later = ctx.stages.slice(ctx.stages.indexOf(stage) + 1).filter((s) => !ctx.completed.includes(s.id)).map((s) => stepClass(ctx, s));
    const state = await runStage(ctx, stage, globalBase, totalAll, eta, later, resume);
    if (state === 'stopped') return 'stopped';
    ctx.completed.push(stage.id);
    globalBase += stageConfig(ctx.cfg, stage).steps;
    ctx.writer.updateStatus({ completedStages: [...ctx.completed] });
  }
  return 'completed';
}

/**
 * A stage's kind of step for the ETA: the model trained, the stage kind, whether the teacher runs
 * online (no output cache), with the step's estimated GFLOP (vision pre-training: the student's
 * figure, a stand-in until its own step is timed) and the stage's step count.
 */
function stepClass(ctx: RunContext, s: StagePlan): RemainingStage {
  const online = !!s.teacher && ctx.cfg.distill.teacherCache === 'off';
  const sc = stageConfig(ctx.cfg, s);
  return { key: `${s.model ?? 'vision'}:${s.kind}${online ? '+teacher' : ''}`, gflop: stageStepGflop(ctx.cfg, s, ctx.data.tokenizer.vocabSize, online) * sc.gradAccum, steps: sc.steps };
}

async function runStage(ctx: RunContext, stage: StagePlan, globalBase: number, globalTotal: number, eta: RunEta, later: RemainingStage[], resume?: LoadedCheckpoint): Promise<RunState> {
  const { cfg, data, writer } = ctx;
  const sc = stageConfig(cfg, stage);
  const seed = stageSeed(cfg, stage);
  const total = sc.steps;
  const perStep = sc.batchSize * sc.gradAccum;
  ctx.emit({ event: 'stage-start', stage: stage.id, totalSteps: total, step: resume?.meta.step ?? 0 });
  ctx.log(`stage ${stage.id}: ${total} steps, batch ${sc.batchSize}x${sc.gradAccum}, lr ${sc.optimizer.lr}${resume ? `, resuming at step ${resume.meta.step}` : ''}`);
  writer.updateStatus({ stage: stage.id, step: resume?.meta.step ?? 0, totalSteps: total, globalStep: globalBase + (resume?.meta.step ?? 0), globalTotalSteps: globalTotal });

  // ---- models -----------------------------------------------------------------------------
  let vision: VisionEncoder;
  let student: Mllm | null = null;
  let teacher: Mllm | null = null;
  let head: { w: tf.Variable; b: tf.Variable } | null = null;
  let objective: VisionObjective | null = null;
  const trainable = new Map<string, tf.Variable>();
  const modules = trainableModules(stage.kind);
  if (stage.kind === 'vision') {
    vision = new VisionEncoder(cfg.vision, seed * 1000 + 1);
    objective = data.visionObjective();
    const rand = mulberry32(seed * 1000 + 7);
    const din = objective.head === 'token' ? cfg.vision.dim : numPatches(cfg.vision) * cfg.vision.dim;
    const V = objective.outDim;
    head = tf.tidy(() => ({
      w: tf.variable(tf.tensor(randomNormal(din * V, 0.1 / Math.sqrt(din), rand), [din, V])),
      b: tf.variable(tf.zeros([V])),
    }));
    ctx.log(`vision pre-training objective: ${objective.name} (${V} outputs)`);
    for (const n of vision.params.names()) trainable.set(`vision.${n}`, vision.params.get(n));
    trainable.set('head.w', head.w);
    trainable.set('head.b', head.b);
  } else {
    vision = buildVision(ctx, stage.id);
    student = buildModel(ctx, stage.model!, stage.init, stage.id, seed * 1000 + (stage.model === 'teacher' ? 2 : 3));
    for (const n of student.params.names(modules.map((m) => m + '.'))) trainable.set(n, student.params.get(n));
    if (stage.teacher) teacher = buildModel(ctx, 'teacher', stage.teacher, stage.id, cfg.teacher.seed * 1000 + 2);
  }
  if (resume) {
    if (stage.kind === 'vision') {
      vision.params.load(resume.group('vision.'), 'resume checkpoint');
      tf.tidy(() => {
        head!.w.assign(tf.tensor(resume.tensors['head.w'].data as Float32Array, head!.w.shape));
        head!.b.assign(tf.tensor(resume.tensors['head.b'].data as Float32Array, head!.b.shape));
      });
    } else {
      student!.params.load(resume.tensors, 'resume checkpoint');
    }
  }
  const optimizer = new AdamW(sc.optimizer);
  if (resume) optimizer.import(resume.group('optim.'), resume.meta.optimizerT ?? 0);

  // ---- data -------------------------------------------------------------------------------
  const setKind = stage.kind === 'lm' ? 'text' : stage.kind === 'sft' || stage.kind === 'dft' ? 'instructions' : 'captions';
  const set: EncodedSample[] = data.encoded(setKind);
  if (!set.length) throw new Error(`stage ${stage.id}: the ${setKind} data set is empty`);
  const sampler = new Sampler(set.length, seed * 7919 + hash(stage.id));
  const teacherSource = teacher ? openTeacherSource(ctx, stage, teacher, vision, set, sampler.take(0, total * perStep)) : null;

  // ---- eval helpers -----------------------------------------------------------------------
  const evalsQa = stage.kind === 'sft' || stage.kind === 'dft';
  const valSet = cfg.eval.valQuestions > 0 ? data.val.slice(0, cfg.eval.valQuestions) : data.val;
  const sampleSet = data.val.slice(0, cfg.eval.samples);
  let teacherAnswers: string[] | undefined;
  let evalSeconds = 0;
  const runEval = (step: number) => {
    if (!student || !evalsQa) return;
    const t0 = Date.now();
    const r = evaluate(student, vision, data, valSet, cfg.eval.maxNewTokens);
    const line = { time: new Date().toISOString(), stage: stage.id, step, globalStep: globalBase + step, split: 'val' as const, model: stage.track, accuracy: r.accuracy, byType: r.byType, n: r.n, ...(r.byDistribution ? { byDistribution: r.byDistribution } : {}) };
    writer.appendEval(line);
    ctx.emit({ event: 'eval', ...line });
    if (teacher && !teacherAnswers) teacherAnswers = generateAnswers(teacher, vision, data, sampleSet, cfg.eval.maxNewTokens);
    const answers = r.answers.slice(0, sampleSet.length);
    const extra = sampleSet.length > answers.length ? evaluate(student, vision, data, sampleSet.slice(answers.length), cfg.eval.maxNewTokens).answers : [];
    for (const [i, a] of [...answers, ...extra].entries()) {
      const s = { time: line.time, stage: stage.id, step, globalStep: line.globalStep, id: a.sample.id, image: a.sample.image ?? '', type: a.sample.type ?? 'other', question: a.question, groundTruth: a.truth, answer: a.answer, correct: a.correct, ...(teacherAnswers ? { teacherAnswer: teacherAnswers[i], teacherCorrect: isCorrect(teacherAnswers[i], a.truth) } : {}) };
      writer.appendSample(s);
      ctx.emit({ event: 'sample', ...s });
    }
    evalSeconds = (Date.now() - t0) / 1000;
    ctx.log(`eval ${stage.id} step ${step}: val accuracy ${(r.accuracy * 100).toFixed(1)}% (${r.n} questions, ${Date.now() - t0} ms)`);
  };

  // ---- checkpoints ------------------------------------------------------------------------
  const modelTensors = () => (stage.kind === 'vision'
    ? { ...vision.params.export('vision.'), 'head.w': exportVar(head!.w), 'head.b': exportVar(head!.b) }
    : { ...vision.params.export('vision.'), ...student!.params.export() });
  // The step of the newest finite resumable checkpoint of this stage (named when the weights go bad).
  let lastGood: number | undefined = resume?.meta.step;
  const saveResume = (step: number) => {
    const opt = optimizer.export();
    const tensors: Record<string, TensorData> = { ...modelTensors() };
    for (const [n, t] of Object.entries(opt.tensors)) tensors[`optim.${n}`] = t;
    assertFinite(tensors, stage.id, step, lastGood);
    lastGood = step;
    const path = writer.checkpointPath('resume');
    saveCheckpoint(path, tensors, { kind: 'resume', stage: stage.id, step, optimizerT: opt.t, cursor: step * perStep, completedStages: [...ctx.completed], track: stage.track, config: cfg, experimentFile: ctx.experimentFile });
    ctx.emit({ event: 'checkpoint', stage: stage.id, step, path });
  };

  // ---- loop -------------------------------------------------------------------------------
  let step = resume?.meta.step ?? 0;
  const weights = stage.kind === 'dpt' || stage.kind === 'dft' ? sc.loss : { ...sc.loss, res: 0, vis: 0, rel: 0 };
  const activeWeights: Partial<Record<LossTerm, number>> = stage.kind === 'vision' ? { task: 1 } : { ce: weights.ce };
  if (teacher) for (const k of ['res', 'vis', 'rel'] as const) if (weights[k] !== 0) activeWeights[k] = weights[k];
  const times: number[] = [];
  const names = [...trainable.keys()];
  const monitor = new DivergenceMonitor(stage.id, globalNorm(trainable));
  let pendingWarnings: string[] = [];
  let pool: StepPool | null = null;
  try {
    pool = stage.kind === 'vision' ? null : await startPool(ctx, stage, vision, student!, teacher, teacherSource, names, weights);
    writer.updateStatus({ threads: { ...writer.status?.threads, [stage.id]: (pool?.size ?? 0) + 1 } });
    const cpu = cpuMeter();
    const mine = stepClass(ctx, stage);
    while (step < total) {
      if (ctx.stop.requested) {
        saveResume(step);
        // The step it stopped at (and resumes from), not the last logged one.
        writer.updateStatus({ step, globalStep: globalBase + step });
        return 'stopped';
      }
      const t0 = performance.now();
      const lr = cosineLr(step, total, sc.optimizer.lr, sc.warmupRatio, sc.minLrRatio);
      const sums: Partial<Record<LossTerm | 'total', number>> = {};
      let grads: Map<string, tf.Tensor> | null = null;
      for (let a = 0; a < sc.gradAccum; a++) {
        const idx = sampler.take(step * perStep + a * sc.batchSize, sc.batchSize);
        /** The step on some samples of the micro-batch (all of them, or this thread's shard). */
        const compute = (samples: EncodedSample[], ix: number[], share?: { nt: number; ni: number }): StepResult => {
          const b = buildBatch(samples, data.np, data.patchDim, data.tokenizer.padId);
          try {
            if (stage.kind !== 'vision') return mllmLossAndGrads(b, vision, student!, teacherSource, names, weights, cfg.distill, ix, share);
            const labels = objective!.labels(ix);
            try {
              return visionLossAndGrads(b.patches!, labels, vision, head!, objective!, trainable);
            } finally {
              labels.dispose();
            }
          } finally {
            disposeBatch(b);
          }
        };
        const r = await pooledStep(pool, idx.map((i) => set[i]), idx, names, compute) as StepResult;
        for (const [k, v] of Object.entries(r.terms)) sums[k as LossTerm] = (sums[k as LossTerm] ?? 0) + v / sc.gradAccum;
        if (!grads) grads = r.grads;
        else for (const [n, g] of r.grads) { const s = tf.add(grads.get(n)!, g); grads.get(n)!.dispose(); g.dispose(); grads.set(n, s); }
      }
      // Name the offending term, not the total it poisons: check the terms first.
      for (const [k, v] of Object.entries(sums).sort(([a], [b]) => Number(a === 'total') - Number(b === 'total'))) {
        if (!Number.isFinite(v)) throw new Error(`non-finite loss at stage ${stage.id} step ${step + 1}: term '${k}' = ${v}`);
      }
      if (sc.gradAccum > 1) for (const [n, g] of grads!) { grads!.set(n, tf.div(g, sc.gradAccum)); g.dispose(); }
      const gradNorm = optimizer.step(trainable, grads!, lr, sc.clipNorm);
      tf.dispose([...grads!.values()]);
      pool?.setParams(names.map((n) => trainable.get(n)!.dataSync() as Float32Array));
      step++;
      const dt = (performance.now() - t0) / 1000;
      times.push(dt);
      if (times.length > 20) times.shift();
      const logged = step % sc.logEvery === 0 || step === 1 || step === total;
      const weightNorm = logged ? globalNorm(trainable) : undefined;
      for (const w of monitor.observe(step, sums.total!, gradNorm, lr, weightNorm)) {
        (ctx.warn ?? ctx.log)(w.message);
        pendingWarnings.push(w.kind);
        writer.updateStatus({ warnings: [...(writer.status?.warnings ?? []), { stage: w.stage, step: w.step, kind: w.kind, message: w.message }] });
        if (cfg.onDivergence === 'stop') throw new Error(`${w.message} (onDivergence is "stop"; the last checkpoint is kept: lower the learning rate and resume)`);
      }
      if (logged) {
        const avg = times.reduce((a, b) => a + b, 0) / times.length;
        eta.observe(mine, avg);
        // Evaluations still due here: at the multiples of evalEvery after this step and before the end, and the final one.
        const evalsLeft = evalsQa ? Math.max(0, Math.floor((total - 1) / sc.evalEvery) - Math.floor(step / sc.evalEvery)) + 1 : 0;
        const left = eta.estimate(mine, total - step, evalsLeft * evalSeconds, later);
        const loss = { total: sums.total! } as MetricsLine['loss'];
        const weighted: MetricsLine['weighted'] = {};
        for (const k of Object.keys(activeWeights) as LossTerm[]) {
          if (sums[k] === undefined) continue;
          loss[k] = sums[k];
          weighted[k] = sums[k]! * activeWeights[k]!;
        }
        const mem = tf.memory();
        const line: MetricsLine = { time: new Date().toISOString(), stage: stage.id, step, globalStep: globalBase + step, lr, loss, weighted, weights: activeWeights, gradNorm, weightNorm, samplesPerSec: perStep / avg, numTensors: mem.numTensors - cachedTensorCount(), rssMb: Math.round(process.memoryUsage().rss / 1048576), tensorMb: Math.round(mem.numBytes / 10485.76) / 100, ...(pendingWarnings.length ? { warnings: pendingWarnings } : {}) };
        pendingWarnings = [];
        writer.appendMetrics(line);
        const etaSeconds = left.seconds;
        writer.updateStatus({ step, globalStep: globalBase + step, etaSeconds, etaRough: left.rough, cpuCores: { ...writer.status?.cpuCores, [stage.id]: cpu() } });
        ctx.emit({ event: 'step', ...line, totalSteps: total, globalTotalSteps: globalTotal, etaSeconds, etaRough: left.rough });
      }
      if (evalsQa && step % sc.evalEvery === 0 && step < total) runEval(step);
      if (step % sc.checkpointEvery === 0 && step < total) saveResume(step);
      await new Promise((r) => setImmediate(r)); // let signal handlers run
    }
    if (evalsQa) runEval(step);
    const out = writer.checkpointPath(stage.output);
    const tensors = stage.kind === 'vision' ? vision.params.export('vision.') : modelTensors();
    assertFinite({ ...tensors, ...Object.fromEntries(Object.entries(optimizer.export().tensors).map(([n, t]) => [`optim.${n}`, t])) }, stage.id, step, lastGood);
    saveCheckpoint(out, tensors, { kind: 'final', stage: stage.id, step, track: stage.track, config: cfg, experimentFile: ctx.experimentFile });
    ctx.emit({ event: 'stage-done', stage: stage.id, step, checkpoint: out });
    const cores = cpu();
    writer.updateStatus({ cpuCores: { ...writer.status?.cpuCores, [stage.id]: cores } });
    ctx.log(`stage ${stage.id} done: ${out} (${(pool?.size ?? 0) + 1} training thread${pool ? 's' : ''}, ${cores.toFixed(2)} CPU cores busy on average)`);
    if (stage.endsTrack && student) testEval(ctx, stage, student, vision, globalBase + step, step);
    if (stage.kind === 'vision' && cfg.data.source === 'world') probeEval(ctx, stage, vision, globalBase + step, step);
    return 'completed';
  } finally {
    await pool?.close();
    vision.params.dispose();
    student?.dispose();
    teacher?.dispose();
    if (teacherSource instanceof CachedTeacher) teacherSource.dispose();
    if (head) tf.dispose([head.w, head.b]);
    optimizer.dispose();
  }
}

/** A meter of the mean CPU cores the process (every thread) keeps busy from now: CPU time over wall time, to 2 decimals. */
function cpuMeter(): () => number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    const wall = (performance.now() - t0) * 1000;
    return wall > 0 ? Math.round(((c.user + c.system) / wall) * 100) / 100 : 0;
  };
}

/**
 * Helper threads for the stage (cfg.workers, wasm/cpu backends; see stepPool.ts), or null for
 * one thread. They start from the main thread's current weights (fresh or resumed).
 */
async function startPool(ctx: RunContext, stage: StagePlan, vision: VisionEncoder, student: Mllm, teacher: Mllm | null, source: TeacherSource | null, names: string[], weights: LossWeights): Promise<StepPool | null> {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return null;
  const online = !!teacher && !(source instanceof CachedTeacher);
  const { n, reason } = resolveWorkers(ctx.cfg.workers, availableParallelism(), stageStepGflop(ctx.cfg, stage, ctx.data.tokenizer.vocabSize, online));
  if (n < 2) {
    ctx.log(`stage ${stage.id}: 1 training thread (${reason})`);
    return null;
  }
  const spec = (m: Mllm) => ({ cfg: m.cfg, dVision: m.dVision, vocab: m.vocab, params: m.params.export() });
  const t0 = Date.now();
  const pool = await StepPool.start(n - 1, {
    backend,
    vision: { cfg: vision.cfg, params: vision.params.export('vision.') },
    student: spec(student),
    teacher: source instanceof CachedTeacher ? { cacheDir: source.dir } : teacher ? spec(teacher) : null,
    trainable: names, weights, distill: ctx.cfg.distill,
    np: ctx.data.np, patchDim: ctx.data.patchDim, padId: ctx.data.tokenizer.padId,
  });
  ctx.log(`stage ${stage.id}: ${n} training threads (${reason}; data parallel, ${n - 1} helper${n > 2 ? 's' : ''} started in ${Date.now() - t0} ms)`);
  return pool;
}

/**
 * The teacher of a DPT/DFT stage: replayed from the teacher-output cache (built on first use for
 * the samples the stage draws, in the format `distill.teacherCache` names, recorded in
 * status.json), or run online when the cache is `off` or the entry would exceed
 * `distill.teacherCacheMaxMB`.
 */
function openTeacherSource(ctx: RunContext, stage: StagePlan, teacher: Mllm, vision: VisionEncoder, set: EncodedSample[], draws: number[]): TeacherSource {
  const d = ctx.cfg.distill;
  if (d.teacherCache === 'off') return new OnlineTeacher(teacher);
  const format: RowFormat = d.teacherCache === 'topk' ? { mode: 'topk', k: d.teacherCacheTopK } : { mode: d.teacherCache };
  // Only the samples the stage draws (ascending data-set index).
  const ids = [...new Set(draws)].sort((a, b) => a - b);
  const sub = ids.map((i) => set[i]);
  const mb = cacheBytes(sub, ctx.data.np, teacher.vocab, format) / 1e6;
  if (mb > d.teacherCacheMaxMB) {
    (ctx.warn ?? ctx.log)(`stage ${stage.id}: the teacher-output cache would take ${mb.toFixed(1)} MB, over distill.teacherCacheMaxMB (${d.teacherCacheMaxMB}): running the teacher online (choose distill.teacherCache "fp16" or "topk", or raise the limit)`);
    return new OnlineTeacher(teacher);
  }
  const ckpts = [findCheckpoint(ctx, stage.teacher!, stage.id), visionCheckpoint(ctx.cfg) ? findCheckpoint(ctx, visionCheckpoint(ctx.cfg)!, stage.id) : null];
  const key = teacherCacheKey(ckpts, sub, format);
  const cached = CachedTeacher.openOrBuild(defaultCacheDir(), key, sub, ids, teacher, vision, ctx.data.np, ctx.data.patchDim, ctx.data.tokenizer.padId, ctx.log, format);
  ctx.log(`stage ${stage.id}: teacher outputs from the cache ${cached.dir} (key ${key}, ${d.teacherCache}${format.k ? ` k ${format.k}` : ''})${describeStats(cached.stats)}`);
  ctx.writer.updateStatus({ teacherCache: { ...ctx.writer.status?.teacherCache, [stage.id]: { key, path: cached.dir, mode: format.mode, ...(format.k ? { k: format.k } : {}), ...(cached.stats ? { stats: cached.stats } : {}) } } });
  return cached;
}

/** Linear probe of the trained vision encoder (visionProbe.ts), written as a val eval line of model `vision`. */
function probeEval(ctx: RunContext, stage: StagePlan, vision: VisionEncoder, globalStep: number, step: number): void {
  const t0 = Date.now();
  const r = probeVision(vision, ctx.data.files.imageFolder, ctx.data.captions, ctx.data.val, (s) => ctx.data.withPatches({ id: s.id, tokens: [], visualStart: 0, isLabel: new Uint8Array(0) }, s).patches);
  if (!r) return;
  const { color, shape, size } = r.byAttribute;
  const line = { time: new Date().toISOString(), stage: stage.id, step, globalStep, split: 'val' as const, model: 'vision', accuracy: (color + shape + size) / 3, byType: { color, shape, size }, n: r.valCells };
  ctx.writer.appendEval(line);
  ctx.emit({ event: 'eval', ...line });
  ctx.log(`vision probe (linear, per token, ${r.trainImages} train images, ${r.valCells} occupied val cells): colour ${(color * 100).toFixed(1)}%, shape ${(shape * 100).toFixed(1)}%, size ${(size * 100).toFixed(1)}% (${Date.now() - t0} ms)`);
}

function testEval(ctx: RunContext, stage: StagePlan, model: Mllm, vision: VisionEncoder, globalStep: number, step: number): void {
  const r = evaluate(model, vision, ctx.data, ctx.data.test, ctx.cfg.eval.maxNewTokens);
  const line = { time: new Date().toISOString(), stage: stage.id, step, globalStep, split: 'test' as const, model: stage.track, accuracy: r.accuracy, byType: r.byType, n: r.n, ...(r.byDistribution ? { byDistribution: r.byDistribution } : {}) };
  ctx.writer.appendEval(line);
  ctx.emit({ event: 'eval', ...line });
  const prev = ctx.writer.status?.accuracy ?? {};
  ctx.writer.updateStatus({ accuracy: { ...prev, [stage.track]: r.accuracy } });
  ctx.log(`test ${stage.track}: accuracy ${(r.accuracy * 100).toFixed(1)}% on ${r.n} questions ${JSON.stringify(Object.fromEntries(Object.entries(r.byType).map(([k, v]) => [k, +(v * 100).toFixed(1)])))}`);
}

/**
 * Refuses to write a checkpoint holding a non-finite weight or optimizer moment: the update of
 * the last step blew up although its loss was finite. The newest finite checkpoint stays in place.
 */
function assertFinite(tensors: Record<string, TensorData>, stage: string, step: number, lastGood: number | undefined): void {
  for (const [name, t] of Object.entries(tensors)) {
    const d = t.data as Float32Array;
    let bad = 0;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) bad++;
    if (bad) {
      const kept = lastGood !== undefined
        ? `the last finite checkpoint (resume.safetensors, ${stage} step ${lastGood}) is kept: resume continues from it`
        : `no resumable checkpoint of ${stage} was written before`;
      throw new Error(`non-finite weights at stage ${stage} step ${step}: '${name}' holds ${bad} of ${d.length} non-finite values (the update diverged; the loss was still finite). The checkpoint was not written; ${kept}. Lower the learning rate (stages.*.optimizer.lr) or clip harder (clipNorm).`);
    }
  }
}

/** Global L2 norm of some variables. */
function globalNorm(vars: Map<string, tf.Variable>): number {
  return tf.tidy(() => Math.sqrt(tf.addN([...vars.values()].map((v) => tf.sum(tf.square(v)))).dataSync()[0]));
}

function exportVar(v: tf.Variable) {
  return { dtype: 'F32' as const, shape: v.shape, data: v.dataSync() as Float32Array };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

