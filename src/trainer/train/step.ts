/**
 * One training micro-step as a self-contained function: forward of the (frozen) vision encoder
 * and teacher outside the tape, student forward + loss terms + gradients w.r.t. the trainable
 * parameters. Swappable (e.g. for data-parallel workers each taking part of a batch).
 */
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, LossWeights } from '../config/types';
import { kdLoss } from '../losses';
import type { Batch } from '../models/batch';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import { matMul2d } from '../nn/ops';
import type { VisionObjective } from './visionObjective';
import type { LossTerm } from '../../common/runFormat';

/** Teacher outputs for a batch; an online teacher computes them, a cache could replay them. */
export interface TeacherOutputs {
  /** [B, L, V] */
  logits: tf.Tensor3D;
  /** [Bi, Np, V] or null */
  visLogits: tf.Tensor3D | null;
}

/** Source of teacher outputs: online today; a cache of top-k logits/relations fits the same shape. */
export interface TeacherSource {
  outputs(batch: Batch, visionFeats: tf.Tensor3D | null): TeacherOutputs;
}

export class OnlineTeacher implements TeacherSource {
  constructor(private readonly model: Mllm) {}
  outputs(batch: Batch, visionFeats: tf.Tensor3D | null): TeacherOutputs {
    const r = tf.tidy(() => {
      const o = this.model.forward(batch, visionFeats);
      return { logits: o.logits.reshape([batch.B, batch.L, -1]), visLogits: o.visLogits ?? tf.zeros([0]) };
    }) as { logits: tf.Tensor3D; visLogits: tf.Tensor };
    return { logits: r.logits, visLogits: r.visLogits.size ? (r.visLogits as tf.Tensor3D) : (r.visLogits.dispose(), null) };
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
 */
export function mllmLossAndGrads(
  batch: Batch,
  vision: VisionEncoder,
  student: Mllm,
  teacher: TeacherSource | null,
  trainable: string[],
  weights: LossWeights,
  distill: DistillConfig,
): StepResult {
  const feats = batch.patches ? tf.tidy(() => vision.forward(batch.patches!)) : null;
  const t = teacher ? teacher.outputs(batch, feats) : null;
  const kept: [LossTerm, tf.Scalar][] = [];
  const vars = trainable.map((n) => student.params.get(n));
  const { value, grads } = tf.variableGrads(() => {
    const s = student.forward(batch, feats);
    const { total, terms } = kdLoss(
      {
        sLogits: s.logits.reshape([batch.B, batch.L, -1]) as tf.Tensor3D,
        tLogits: t?.logits,
        targets: batch.targets,
        targetMask: batch.targetMask,
        visualMask: batch.visualMask,
        sVis: s.visLogits ?? undefined,
        tVis: t?.visLogits ?? undefined,
        sampleMask: batch.Bi > 0 ? tf.ones([batch.Bi]) : undefined,
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
  if (t) tf.dispose([t.logits, t.visLogits ?? []].flat());
  const byName = new Map<string, tf.Tensor>();
  const nameOf = new Map(trainable.map((n) => [student.params.get(n).name, n]));
  for (const [vn, g] of Object.entries(grads)) byName.set(nameOf.get(vn)!, g);
  return { terms: termValues, grads: byName };
}

/**
 * Vision pre-training step: the objective's loss on a linear head over the last block's
 * flattened patch features.
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
    const logits = tf.add(matMul2d(f.reshape([B, Np * d]) as tf.Tensor2D, head.w as tf.Tensor2D), head.b) as tf.Tensor2D;
    return objective.loss(logits, labels);
  }, names.map((n) => trainable.get(n)!));
  const total = value.dataSync()[0];
  value.dispose();
  const nameOf = new Map(names.map((n) => [trainable.get(n)!.name, n]));
  const byName = new Map<string, tf.Tensor>();
  for (const [vn, g] of Object.entries(grads)) byName.set(nameOf.get(vn)!, g);
  return { terms: { total, task: total }, grads: byName };
}
