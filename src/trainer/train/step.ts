/**
 * One training micro-step as a self-contained function: forward of the (frozen) vision encoder
 * and teacher outside the tape, student forward + loss terms + gradients w.r.t. the trainable
 * parameters. Swappable (e.g. for data-parallel workers each taking part of a batch).
 */
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, LossWeights } from '../config/types';
import { kdLossRows } from '../losses';
import type { Batch } from '../models/batch';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import { matMul2d } from '../nn/ops';
import type { VisionObjective } from './visionObjective';
import type { LossTerm } from '../../common/runFormat';

/**
 * Teacher outputs for a batch, at the rows the losses read (as {@link Mllm.forwardRows} gives
 * them): an online teacher computes them, a cache replays them.
 */
export interface TeacherOutputs {
  /** [Nt, V] teacher logits at batch.targetPos */
  res: tf.Tensor2D;
  /** [Bi, Np, V] teacher logits at batch.visualPos, or null without images */
  vis: tf.Tensor3D | null;
  /** [Bi, Np, Np] the teacher's relation matrices (a top-k cache stores them exactly); absent: computed from `vis` */
  rel?: tf.Tensor3D;
}

/** Source of teacher outputs: the frozen teacher run online, or a cache of its outputs. */
export interface TeacherSource {
  /** @param indices data-set index of each sample of the batch (a cache looks its rows up by them) */
  outputs(batch: Batch, visionFeats: tf.Tensor3D | null, indices?: number[]): TeacherOutputs;
}

export class OnlineTeacher implements TeacherSource {
  constructor(private readonly model: Mllm) {}
  outputs(batch: Batch, visionFeats: tf.Tensor3D | null, _indices?: number[]): TeacherOutputs {
    // tf.tidy keeps only tensors: drop the null before, restore it after.
    const r = tf.tidy(() => {
      const o = this.model.forwardRows(batch, visionFeats);
      return o.vis ? { res: o.res, vis: o.vis } : { res: o.res };
    }) as { res: tf.Tensor2D; vis?: tf.Tensor3D };
    return { res: r.res, vis: r.vis ?? null };
  }
}

export interface StepResult {
  /** Raw value of each computed term, plus the total. */
  terms: Partial<Record<LossTerm, number>> & { total: number };
  /** Gradients by parameter name; caller disposes. */
  grads: Map<string, tf.Tensor>;
}

/**
 * Loss and gradients of one micro-batch for an MLLM stage.
 * @param trainable parameter names of `student` to differentiate
 * @param teacher null for CE-only stages
 * @param indices data-set index of each sample of the batch (needed by a cached teacher)
 * @param share the whole batch's response-row and image counts when `batch` is one shard of it
 */
export function mllmLossAndGrads(
  batch: Batch,
  vision: VisionEncoder,
  student: Mllm,
  teacher: TeacherSource | null,
  trainable: string[],
  weights: LossWeights,
  distill: DistillConfig,
  indices?: number[],
  share?: { nt: number; ni: number },
): StepResult {
  const feats = batch.patches ? tf.tidy(() => vision.forward(batch.patches!)) : null;
  const t = teacher ? teacher.outputs(batch, feats, indices) : null;
  const kept: [LossTerm, tf.Scalar][] = [];
  const vars = trainable.map((n) => student.params.get(n));
  const { value, grads } = tf.variableGrads(() => {
    const s = student.forwardRows(batch, feats);
    const { total, terms } = kdLossRows(
      {
        sRes: s.res,
        tRes: t?.res,
        targets: batch.targetIds,
        sVis: s.vis ?? undefined,
        tVis: t?.vis ?? undefined,
        tRel: t?.rel,
        share,
      },
      weights,
      { divergence: distill.divergence, temperature: distill.temperature, skewLambda: distill.skewLambda },
    );
    for (const k of ['ce', 'res', 'vis', 'rel'] as const) {
      const v = terms[k];
      if (v) kept.push([k, tf.keep(v)]);
    }
    return total;
  }, vars);
  const termValues: Partial<Record<LossTerm, number>> & { total: number } = { total: value.dataSync()[0] };
  for (const [k, v] of kept) termValues[k] = v.dataSync()[0];
  tf.dispose([value, ...kept.map(([, v]) => v)]);
  if (feats) feats.dispose();
  if (t) tf.dispose([t.res, t.vis ?? [], t.rel ?? []].flat());
  const byName = new Map<string, tf.Tensor>();
  const nameOf = new Map(trainable.map((n) => [student.params.get(n).name, n]));
  for (const [vn, g] of Object.entries(grads)) byName.set(nameOf.get(vn)!, g);
  return { terms: termValues, grads: byName };
}

/**
 * Vision pre-training step: the objective's loss on a linear head over the last block's patch
 * features, flattened per image or per token (objective.head).
 * @param patches [B, Np, patchDim]  @param labels [B, outDim] from objective.labels()
 */
export function visionLossAndGrads(
  patches: tf.Tensor3D,
  labels: tf.Tensor2D,
  vision: VisionEncoder,
  head: { w: tf.Variable; b: tf.Variable },
  objective: VisionObjective,
  trainable: Map<string, tf.Variable>,
): StepResult {
  const names = [...trainable.keys()];
  const { value, grads } = tf.variableGrads(() => {
    const f = vision.forward(patches, vision.cfg.depth);
    const [B, Np, d] = f.shape;
    const rows = objective.head === 'token' ? f.reshape([B * Np, d]) : f.reshape([B, Np * d]);
    const logits = tf.add(matMul2d(rows as tf.Tensor2D, head.w as tf.Tensor2D), head.b) as tf.Tensor2D;
    return objective.loss(logits, labels);
  }, names.map((n) => trainable.get(n)!));
  const total = value.dataSync()[0];
  value.dispose();
  const nameOf = new Map(names.map((n) => [trainable.get(n)!.name, n]));
  const byName = new Map<string, tf.Tensor>();
  for (const [vn, g] of Object.entries(grads)) byName.set(nameOf.get(vn)!, g);
  return { terms: { total, task: total }, grads: byName };
}
