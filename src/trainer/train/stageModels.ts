/**
 * The models of one stage: the frozen (or, in vision pre-training, trained) vision encoder, the
 * MLLM the stage trains (the teacher's on the teacher track, else the student's), the teacher of a
 * DPT/DFT stage, the vision pre-training head, and the variables the optimizer updates; built
 * fresh or from the checkpoints the plan names, then from the stage's resume checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, type LoadedCheckpoint } from '../io/checkpoint';
import { Mllm } from '../models/mllm';
import { VisionEncoder, numPatches } from '../models/vision';
import { randomNormal, type TensorData } from '../nn/params';
import { mulberry32 } from '../../common/random';
import { stageSeed, trainableModules, visionCheckpoint, type StagePlan } from '../../common/stagePlan';
import { findCheckpoint, type RunContext } from './runContext';
import type { VisionObjective } from './visionObjective';

/** Linear head of vision pre-training: w [din, V], b [V] (din = dim per token, or patches × dim). */
export interface VisionHead { w: tf.Variable; b: tf.Variable }

export interface StageModels {
  vision: VisionEncoder;
  /** The MLLM the stage trains; null in vision pre-training. */
  trained: Mllm | null;
  /** The teacher of a DPT/DFT stage, else null. */
  teacher: Mllm | null;
  /** Vision pre-training only: the head and the objective it predicts. */
  head: VisionHead | null;
  objective: VisionObjective | null;
  /** Variables the optimizer updates, by checkpoint name (`vision.*`, `head.*`, `projector.*`, `lm.*`). */
  trainable: Map<string, tf.Variable>;
}

type ModelContext = Pick<RunContext, 'cfg' | 'data' | 'writer' | 'fromDirs' | 'log'>;

/** Builds the stage's models (initialised from the plan's checkpoints) and loads `resume` over the trained ones. */
export function buildStageModels(ctx: ModelContext, stage: StagePlan, resume?: LoadedCheckpoint): StageModels {
  const { cfg, data } = ctx;
  const seed = stageSeed(cfg, stage);
  const trainable = new Map<string, tf.Variable>();
  let m: StageModels;
  if (stage.kind === 'vision') {
    const vision = new VisionEncoder(cfg.vision, seed * 1000 + 1);
    const objective = data.visionObjective();
    const rand = mulberry32(seed * 1000 + 7);
    const din = objective.head === 'token' ? cfg.vision.dim : numPatches(cfg.vision) * cfg.vision.dim;
    const V = objective.outDim;
    const head = tf.tidy(() => ({
      w: tf.variable(tf.tensor(randomNormal(din * V, 0.1 / Math.sqrt(din), rand), [din, V])),
      b: tf.variable(tf.zeros([V])),
    }));
    ctx.log(`vision pre-training objective: ${objective.name} (${V} outputs)`);
    for (const n of vision.params.names()) trainable.set(`vision.${n}`, vision.params.get(n));
    trainable.set('head.w', head.w);
    trainable.set('head.b', head.b);
    m = { vision, trained: null, teacher: null, head, objective, trainable };
  } else {
    const vision = buildVision(ctx, stage.id);
    const trained = buildMllm(ctx, stage.model!, stage.init, stage.id, seed * 1000 + (stage.model === 'teacher' ? 2 : 3));
    const modules = trainableModules(stage.kind);
    for (const n of trained.params.names(modules.map((x) => x + '.'))) trainable.set(n, trained.params.get(n));
    const teacher = stage.teacher ? buildMllm(ctx, 'teacher', stage.teacher, stage.id, cfg.teacher.seed * 1000 + 2) : null;
    m = { vision, trained, teacher, head: null, objective: null, trainable };
  }
  if (resume) loadResume(m, resume);
  return m;
}

function loadResume(m: StageModels, resume: LoadedCheckpoint): void {
  if (m.head) {
    m.vision.params.load(resume.group('vision.'), 'resume checkpoint');
    const head = m.head;
    tf.tidy(() => {
      head.w.assign(tf.tensor(resume.tensors['head.w'].data as Float32Array, head.w.shape));
      head.b.assign(tf.tensor(resume.tensors['head.b'].data as Float32Array, head.b.shape));
    });
  } else {
    m.trained!.params.load(resume.tensors, 'resume checkpoint');
  }
}

function buildVision(ctx: ModelContext, neededBy: string): VisionEncoder {
  const v = new VisionEncoder(ctx.cfg.vision, ctx.cfg.teacher.seed * 1000 + 1);
  const name = visionCheckpoint(ctx.cfg);
  if (name) {
    const path = findCheckpoint(ctx, name, neededBy);
    v.params.load(loadCheckpoint(path).group('vision.'), path);
  }
  return v;
}

function buildMllm(ctx: ModelContext, which: 'teacher' | 'student', init: string | null, neededBy: string, initSeed: number): Mllm {
  const m = new Mllm(ctx.cfg[which], ctx.cfg.vision.dim, ctx.data.tokenizer.vocabSize, initSeed);
  if (init) {
    const path = findCheckpoint(ctx, init, neededBy);
    m.params.load(loadCheckpoint(path).tensors, path);
  }
  return m;
}

/** The tensors a resume checkpoint holds of the models (vision encoder + head, or vision encoder + trained MLLM). */
export function modelTensors(m: StageModels): Record<string, TensorData> {
  return m.head
    ? { ...m.vision.params.export('vision.'), 'head.w': exportVar(m.head.w), 'head.b': exportVar(m.head.b) }
    : { ...m.vision.params.export('vision.'), ...m.trained!.params.export() };
}

/** The tensors of the stage's final checkpoint: the vision encoder alone after vision pre-training (the head is dropped). */
export function finalTensors(m: StageModels): Record<string, TensorData> {
  return m.head ? m.vision.params.export('vision.') : modelTensors(m);
}

export function disposeStageModels(m: StageModels): void {
  m.vision.params.dispose();
  m.trained?.dispose();
  m.teacher?.dispose();
  if (m.head) tf.dispose([m.head.w, m.head.b]);
}

function exportVar(v: tf.Variable): TensorData {
  return { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
}
