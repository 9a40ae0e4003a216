/**
 * Runs the stages of one run folder: for each stage, its models (stageModels.ts), teacher
 * (stageTeacher.ts) and helper threads (stagePool.ts), then the training loop (AdamW, the cosine
 * schedule, gradient accumulation, divergence checks, graceful stop), with what the stage reports
 * in stageReporter.ts and the checkpoints it writes in stageCheckpoints.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, RunState } from '../../common/runFormat';
import type { StageConfig } from '../config/types';
import { buildBatch, disposeBatch } from '../models/batch';
import type { EncodedSample } from '../data/encodedSample';
import { Sampler } from '../data/sampler';
import type { LoadedCheckpoint } from '../io/checkpoint';
import { AdamW, cosineLr } from './adamw';
import { stageConfig, stageSeed, totalSteps, type StagePlan } from '../../common/stagePlan';
import { mllmLossAndGrads, visionLossAndGrads, type StepResult, type TeacherSource } from './step';
import { CachedTeacher } from './teacherCache';
import { DivergenceMonitor } from './divergence';
import { pooledStep, type StepPool } from './stepPool';
import { stageStepGflop } from './stepCost';
import { RunEta, type RemainingStage } from './runEta';
import type { RunContext } from './runContext';
import { buildStageModels, disposeStageModels, type StageModels } from './stageModels';
import { StageReporter, type StagePlacement, type StepTerms } from './stageReporter';
import { StageCheckpoints } from './stageCheckpoints';
import { openTeacherSource } from './stageTeacher';
import { startStagePool } from './stagePool';

/**
 * Runs every stage of ctx.stages not yet completed (and accepted by `only`, when given: the
 * teacher store runs the teacher side first). Step totals count all of ctx.stages. Returns the
 * final state.
 */
export async function runStages(ctx: RunContext, only?: (s: StagePlan) => boolean): Promise<RunState> {
  const globalTotal = totalSteps(ctx.cfg, ctx.stages);
  let globalBase = totalSteps(ctx.cfg, ctx.stages.filter((s) => ctx.completed.includes(s.id)));
  const eta = new RunEta();
  for (const stage of ctx.stages) {
    if (ctx.completed.includes(stage.id)) continue;
    if (only && !only(stage)) continue;
    const resume = ctx.resume && ctx.resume.meta.stage === stage.id ? ctx.resume : undefined;
    const later = ctx.stages.slice(ctx.stages.indexOf(stage) + 1).filter((s) => !ctx.completed.includes(s.id)).map((s) => stepClass(ctx, s));
    const state = await runStage(ctx, stage, { globalBase, globalTotal, eta, mine: stepClass(ctx, stage), later }, resume);
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

/** Which data set a stage kind trains on. */
function stageDataKind(kind: StagePlan['kind']): 'text' | 'instructions' | 'captions' {
  return kind === 'lm' ? 'text' : kind === 'sft' || kind === 'dft' ? 'instructions' : 'captions';
}

/** The loss weights a stage kind uses (the distillation terms only in DPT/DFT) and the terms it logs with their weights. */
function stageWeights(stage: StagePlan, sc: StageConfig, hasTeacher: boolean) {
  const weights = stage.kind === 'dpt' || stage.kind === 'dft' ? sc.loss : { ...sc.loss, res: 0, vis: 0, rel: 0 };
  const active: Partial<Record<LossTerm, number>> = stage.kind === 'vision' ? { task: 1 } : { ce: weights.ce };
  if (hasTeacher) for (const k of ['res', 'vis', 'rel'] as const) if (weights[k] !== 0) active[k] = weights[k];
  return { weights, active };
}

async function runStage(ctx: RunContext, stage: StagePlan, at: StagePlacement, resume?: LoadedCheckpoint): Promise<RunState> {
  const { cfg, data } = ctx;
  const sc = stageConfig(cfg, stage);
  const total = sc.steps;
  const perStep = sc.batchSize * sc.gradAccum;
  const { weights, active } = stageWeights(stage, sc, !!stage.teacher);
  const report = new StageReporter(ctx, stage, sc, at, active);
  report.start(resume?.meta.step ?? 0, !!resume);

  const models = buildStageModels(ctx, stage, resume);
  const optimizer = new AdamW(sc.optimizer);
  if (resume) optimizer.import(resume.group('optim.'), resume.meta.optimizerT ?? 0);
  const checkpoints = new StageCheckpoints(ctx, stage, models, optimizer, perStep, resume?.meta.step);

  const setKind = stageDataKind(stage.kind);
  const set: EncodedSample[] = data.encoded(setKind);
  if (!set.length) throw new Error(`stage ${stage.id}: the ${setKind} data set is empty`);
  const sampler = new Sampler(set.length, stageSeed(cfg, stage) * 7919 + hash(stage.id));
  let teacherSource: TeacherSource | null = null;
  let pool: StepPool | null = null;
  try {
    if (models.teacher) teacherSource = openTeacherSource(ctx, stage, models.teacher, models.vision, set, sampler.take(0, total * perStep));
    const { trainable } = models;
    const names = [...trainable.keys()];
    const monitor = new DivergenceMonitor(stage.id, globalNorm(trainable));
    pool = models.trained ? await startStagePool(ctx, stage, models.vision, models.trained, models.teacher, teacherSource, names, weights) : null;
    report.threads((pool?.size ?? 0) + 1);
    let step = resume?.meta.step ?? 0;
    while (step < total) {
      if (ctx.stop.requested) {
        checkpoints.saveResume(step);
        report.stopped(step);
        return 'stopped';
      }
      const t0 = performance.now();
      const lr = cosineLr(step, total, sc.optimizer.lr, sc.warmupRatio, sc.minLrRatio);
      const compute = (samples: EncodedSample[], ix: number[], share?: { nt: number; ni: number }) => stepOn(models, teacherSource, data, names, weights, cfg.distill, samples, ix, share);
      const { sums, grads } = await accumulate(sc, (a) => {
        const idx = sampler.take(step * perStep + a * sc.batchSize, sc.batchSize);
        return pooledStep(pool, idx.map((i) => set[i]), idx, names, compute) as Promise<StepResult>;
      });
      // Name the offending term, not the total it poisons: check the terms first.
      for (const [k, v] of Object.entries(sums).sort(([a], [b]) => Number(a === 'total') - Number(b === 'total'))) {
        if (!Number.isFinite(v)) throw new Error(`non-finite loss at stage ${stage.id} step ${step + 1}: term '${k}' = ${v}`);
      }
      const gradNorm = optimizer.step(trainable, grads, lr, sc.clipNorm);
      tf.dispose([...grads.values()]);
      pool?.setParams(names.map((n) => trainable.get(n)!.dataSync() as Float32Array));
      step++;
      report.stepTime((performance.now() - t0) / 1000);
      const logged = step % sc.logEvery === 0 || step === 1 || step === total;
      const weightNorm = logged ? globalNorm(trainable) : undefined;
      for (const w of monitor.observe(step, sums.total!, gradNorm, lr, weightNorm)) {
        report.warning(w);
        if (cfg.onDivergence === 'stop') throw new Error(`${w.message} (onDivergence is "stop"; the last checkpoint is kept: lower the learning rate and resume)`);
      }
      if (logged) report.metrics(step, sums, lr, gradNorm, weightNorm);
      if (step % sc.evalEvery === 0 && step < total) report.valEval(step, models.trained, models.vision, models.teacher);
      if (step % sc.checkpointEvery === 0 && step < total) checkpoints.saveResume(step);
      await new Promise((r) => setImmediate(r)); // let signal handlers run
    }
    report.valEval(step, models.trained, models.vision, models.teacher);
    const out = checkpoints.saveFinal(step);
    report.done(step, out, (pool?.size ?? 0) + 1);
    if (stage.endsTrack && models.trained) report.testEval(step, models.trained, models.vision);
    if (stage.kind === 'vision' && cfg.data.source === 'world') report.probeEval(step, models.vision);
    return 'completed';
  } finally {
    await pool?.close();
    disposeStageModels(models);
    if (teacherSource instanceof CachedTeacher) teacherSource.dispose();
    optimizer.dispose();
  }
}

/**
 * One optimizer step's loss terms (mean over the micro-batches) and gradients (their sum, divided
 * by gradAccum when it is over 1), from `micro(a)` for a = 0 … gradAccum − 1.
 */
async function accumulate(sc: StageConfig, micro: (a: number) => Promise<StepResult>): Promise<{ sums: StepTerms; grads: Map<string, tf.Tensor> }> {
  const sums: StepTerms = {};
  let grads: Map<string, tf.Tensor> | null = null;
  for (let a = 0; a < sc.gradAccum; a++) {
    const r = await micro(a);
    for (const [k, v] of Object.entries(r.terms)) sums[k as LossTerm] = (sums[k as LossTerm] ?? 0) + v / sc.gradAccum;
    if (!grads) grads = r.grads;
    else for (const [n, g] of r.grads) { const s = tf.add(grads.get(n)!, g); grads.get(n)!.dispose(); g.dispose(); grads.set(n, s); }
  }
  if (sc.gradAccum > 1) for (const [n, g] of grads!) { grads!.set(n, tf.div(g, sc.gradAccum)); g.dispose(); }
  return { sums, grads: grads! };
}

/** The step on some samples of a micro-batch (all of them, or this thread's shard): the MLLM losses, or vision pre-training's task loss. */
function stepOn(m: StageModels, teacher: TeacherSource | null, data: RunContext['data'], names: string[], weights: StageConfig['loss'], distill: RunContext['cfg']['distill'], samples: EncodedSample[], ix: number[], share?: { nt: number; ni: number }): StepResult {
  const b = buildBatch(samples, data.np, data.patchDim, data.tokenizer.padId);
  try {
    if (m.trained) return mllmLossAndGrads(b, m.vision, m.trained, teacher, names, weights, distill, ix, share);
    const labels = m.objective!.labels(ix);
    try {
      return visionLossAndGrads(b.patches!, labels, m.vision, m.head!, m.objective!, m.trainable);
    } finally {
      labels.dispose();
    }
  } finally {
    disposeBatch(b);
  }
}

/** Global L2 norm of some variables. */
function globalNorm(vars: Map<string, tf.Variable>): number {
  return tf.tidy(() => Math.sqrt(tf.addN([...vars.values()].map((v) => tf.sum(tf.square(v)))).dataSync()[0]));
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
