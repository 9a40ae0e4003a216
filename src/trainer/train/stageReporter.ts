/**
 * What one stage tells the world, in the manner of the callbacks of tfjs `fit`: the stage-start
 * and stage-done events, a metrics line at every logged step (loss terms, their weighted shares,
 * lr, norms, speed, memory, the run's ETA), divergence warnings, the val evaluation with its
 * sample answers (teacher answers beside the student's), the test evaluation at the end of a track
 * and the linear probe after vision pre-training; each written to the run folder
 * (metrics/eval/samples JSONL, status.json) and emitted as a trainer event.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, MetricsLine } from '../../common/runFormat';
import type { StageConfig } from '../config/types';
import type { StagePlan } from '../../common/stagePlan';
import { isCorrect } from '../data/answers';
import type { LlavaSample } from '../data/llava';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import { cachedTensorCount } from '../nn/attention';
import type { DivergenceWarning } from './divergence';
import { evaluate, generateAnswers, type EvalResult } from './evaluate';
import type { RunContext } from './runContext';
import type { RemainingStage, RunEta, StepClass } from './runEta';
import { probeVision } from './visionProbe';

/** Where the stage sits in the run: its first global step and the run's total, for global steps and the ETA. */
export interface StagePlacement {
  globalBase: number;
  globalTotal: number;
  eta: RunEta;
  /** This stage's kind of step and the stages still to run after it (the ETA). */
  mine: StepClass;
  later: RemainingStage[];
}

/** Mean loss of each term (and the total) over the micro-batches of one optimizer step. */
export type StepTerms = Partial<Record<LossTerm | 'total', number>>;

export class StageReporter {
  private readonly total: number;
  private readonly perStep: number;
  private readonly times: number[] = [];
  private pendingWarnings: string[] = [];
  private teacherAnswers: string[] | undefined;
  private evalSeconds = 0;
  /** CPU cores busy since the stage's threads started (threads()). */
  private cpu: () => number = () => 0;
  /** Whether the stage answers questions (SFT, DFT): val evaluations and samples. */
  readonly evalsQa: boolean;

  /**
   * @param activeWeights the weight of each term the stage optimises (the metrics lines' `weights`)
   */
  constructor(
    private readonly ctx: Pick<RunContext, 'cfg' | 'data' | 'writer' | 'emit' | 'log' | 'warn'>,
    private readonly stage: StagePlan,
    private readonly sc: StageConfig,
    private readonly at: StagePlacement,
    private readonly activeWeights: Partial<Record<LossTerm, number>>,
  ) {
    this.total = sc.steps;
    this.perStep = sc.batchSize * sc.gradAccum;
    this.evalsQa = stage.kind === 'sft' || stage.kind === 'dft';
  }

  /** The stage starts (or resumes at `step`). */
  start(step: number, resuming: boolean): void {
    const { ctx, stage, sc } = this;
    ctx.emit({ event: 'stage-start', stage: stage.id, totalSteps: this.total, step });
    ctx.log(`stage ${stage.id}: ${this.total} steps, batch ${sc.batchSize}x${sc.gradAccum}, lr ${sc.optimizer.lr}${resuming ? `, resuming at step ${step}` : ''}`);
    ctx.writer.updateStatus({ stage: stage.id, step, totalSteps: this.total, globalStep: this.at.globalBase + step, globalTotalSteps: this.at.globalTotal });
  }

  /** The stage's training threads (`n`) are up and its loop begins: status.json `threads`, and the CPU meter starts. */
  threads(n: number): void {
    this.cpu = cpuMeter();
    this.ctx.writer.updateStatus({ threads: { ...this.ctx.writer.status?.threads, [this.stage.id]: n } });
  }

  /** A divergence warning: logged, recorded in status.json and named on the next metrics line. */
  warning(w: DivergenceWarning): void {
    (this.ctx.warn ?? this.ctx.log)(w.message);
    this.pendingWarnings.push(w.kind);
    this.ctx.writer.updateStatus({ warnings: [...(this.ctx.writer.status?.warnings ?? []), { stage: w.stage, step: w.step, kind: w.kind, message: w.message }] });
  }

  /** One optimizer step took `seconds` (the speed and ETA use the last 20). */
  stepTime(seconds: number): void {
    this.times.push(seconds);
    if (this.times.length > 20) this.times.shift();
  }

  /** The metrics line of a logged step (after `step` optimizer steps). */
  metrics(step: number, sums: StepTerms, lr: number, gradNorm: number, weightNorm: number | undefined): void {
    const { ctx, stage, sc, at } = this;
    const avg = this.times.reduce((a, b) => a + b, 0) / this.times.length;
    at.eta.observe(at.mine, avg);
    // Evaluations still due here: at the multiples of evalEvery after this step and before the end, and the final one.
    const evalsLeft = this.evalsQa ? Math.max(0, Math.floor((this.total - 1) / sc.evalEvery) - Math.floor(step / sc.evalEvery)) + 1 : 0;
    const left = at.eta.estimate(at.mine, this.total - step, evalsLeft * this.evalSeconds, at.later);
    const loss = { total: sums.total! } as MetricsLine['loss'];
    const weighted: MetricsLine['weighted'] = {};
    for (const k of Object.keys(this.activeWeights) as LossTerm[]) {
      if (sums[k] === undefined) continue;
      loss[k] = sums[k];
      weighted[k] = sums[k]! * this.activeWeights[k]!;
    }
    const mem = tf.memory();
    const line: MetricsLine = { time: new Date().toISOString(), stage: stage.id, step, globalStep: at.globalBase + step, lr, loss, weighted, weights: this.activeWeights, gradNorm, weightNorm, samplesPerSec: this.perStep / avg, numTensors: mem.numTensors - cachedTensorCount(), rssMb: Math.round(process.memoryUsage().rss / 1048576), tensorMb: Math.round(mem.numBytes / 10485.76) / 100, ...(this.pendingWarnings.length ? { warnings: this.pendingWarnings } : {}) };
    this.pendingWarnings = [];
    ctx.writer.appendMetrics(line);
    const etaSeconds = left.seconds;
    ctx.writer.updateStatus({ step, globalStep: at.globalBase + step, etaSeconds, etaRough: left.rough, cpuCores: { ...ctx.writer.status?.cpuCores, [stage.id]: this.cpu() } });
    ctx.emit({ event: 'step', ...line, totalSteps: this.total, globalTotalSteps: at.globalTotal, etaSeconds, etaRough: left.rough });
  }

  /** Val evaluation of the trained model after `step` steps, with the sample answers (and the teacher's) for the Samples panel. */
  valEval(step: number, model: Mllm | null, vision: VisionEncoder, teacher: Mllm | null): void {
    if (!this.evalsQa || !model) return;
    const { ctx, stage } = this;
    const { cfg, data } = ctx;
    const t0 = Date.now();
    const valSet = cfg.eval.valQuestions > 0 ? data.val.slice(0, cfg.eval.valQuestions) : data.val;
    const sampleSet = data.val.slice(0, cfg.eval.samples);
    const r = evaluate(model, vision, data, valSet, cfg.eval.maxNewTokens);
    const line = this.evalLine('val', stage.track, step, r);
    if (teacher && !this.teacherAnswers) this.teacherAnswers = generateAnswers(teacher, vision, data, sampleSet, cfg.eval.maxNewTokens);
    const answers = r.answers.slice(0, sampleSet.length);
    const extra = sampleSet.length > answers.length ? evaluate(model, vision, data, sampleSet.slice(answers.length), cfg.eval.maxNewTokens).answers : [];
    const ta = this.teacherAnswers;
    for (const [i, a] of [...answers, ...extra].entries()) {
      const s = { time: line.time, stage: stage.id, step, globalStep: line.globalStep, id: a.sample.id, image: a.sample.image ?? '', type: a.sample.type ?? 'other', question: a.question, groundTruth: a.truth, answer: a.answer, correct: a.correct, ...(ta ? { teacherAnswer: ta[i], teacherCorrect: isCorrect(ta[i], a.truth) } : {}) };
      ctx.writer.appendSample(s);
      ctx.emit({ event: 'sample', ...s });
    }
    this.evalSeconds = (Date.now() - t0) / 1000;
    ctx.log(`eval ${stage.id} step ${step}: val accuracy ${(r.accuracy * 100).toFixed(1)}% (${r.n} questions, ${Date.now() - t0} ms)`);
  }

  /** The stage stopped on request at `step` (the step it resumes from, not the last logged one). */
  stopped(step: number): void {
    this.ctx.writer.updateStatus({ step, globalStep: this.at.globalBase + step });
  }

  /** The stage wrote its final checkpoint `out` after `step` steps, on `threads` training threads. */
  done(step: number, out: string, threads: number): void {
    const { ctx, stage } = this;
    ctx.emit({ event: 'stage-done', stage: stage.id, step, checkpoint: out });
    const cores = this.cpu();
    ctx.writer.updateStatus({ cpuCores: { ...ctx.writer.status?.cpuCores, [stage.id]: cores } });
    ctx.log(`stage ${stage.id} done: ${out} (${threads} training thread${threads > 1 ? 's' : ''}, ${cores.toFixed(2)} CPU cores busy on average)`);
  }

  /** Test evaluation of the model that ends a track; its accuracy goes to status.json `accuracy`. */
  testEval(step: number, model: Mllm, vision: VisionEncoder): void {
    const { ctx, stage } = this;
    const r = evaluate(model, vision, ctx.data, ctx.data.test, ctx.cfg.eval.maxNewTokens);
    this.evalLine('test', stage.track, step, r);
    const prev = ctx.writer.status?.accuracy ?? {};
    ctx.writer.updateStatus({ accuracy: { ...prev, [stage.track]: r.accuracy } });
    ctx.log(`test ${stage.track}: accuracy ${(r.accuracy * 100).toFixed(1)}% on ${r.n} questions ${JSON.stringify(Object.fromEntries(Object.entries(r.byType).map(([k, v]) => [k, +(v * 100).toFixed(1)])))}`);
  }

  /** Linear probe of the trained vision encoder (visionProbe.ts), written as a val eval line of model `vision`. */
  probeEval(step: number, vision: VisionEncoder): void {
    const { ctx } = this;
    const t0 = Date.now();
    const r = probeVision(vision, ctx.data.files.imageFolder, ctx.data.captions, ctx.data.val, (s: LlavaSample) => ctx.data.withPatches({ id: s.id, tokens: [], visualStart: 0, isLabel: new Uint8Array(0) }, s).patches);
    if (!r) return;
    const { color, shape, size } = r.byAttribute;
    this.evalLine('val', 'vision', step, { accuracy: (color + shape + size) / 3, byType: { color, shape, size }, n: r.valCells });
    ctx.log(`vision probe (linear, per token, ${r.trainImages} train images, ${r.valCells} occupied val cells): colour ${(color * 100).toFixed(1)}%, shape ${(shape * 100).toFixed(1)}%, size ${(size * 100).toFixed(1)}% (${Date.now() - t0} ms)`);
  }

  /** Writes and emits an eval line; returns it. */
  private evalLine(split: 'val' | 'test', model: string, step: number, r: Pick<EvalResult, 'accuracy' | 'byType' | 'n' | 'byDistribution'>) {
    const line = { time: new Date().toISOString(), stage: this.stage.id, step, globalStep: this.at.globalBase + step, split, model, accuracy: r.accuracy, byType: r.byType, n: r.n, ...(r.byDistribution ? { byDistribution: r.byDistribution } : {}) };
    this.ctx.writer.appendEval(line);
    this.ctx.emit({ event: 'eval', ...line });
    return line;
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
