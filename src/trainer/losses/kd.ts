/**
 * The LLaVA-KD training losses (docs/method.md, "Losses"): masked CE, MDist (response and visual
 * parts), RDist, and `kdLoss`, which combines them with the stage's weights.
 * All return float32 scalars that are means (never sums) over the positions/samples they cover.
 */
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, LossWeights } from '../config/types';
import { rowDivergence } from './divergence';
import { fusedRowTerms } from './fusedRows';
import { maskedMean, stopGradient } from './helpers';

let fusedRowsEnabled = true;
/** Tests: compute kdLossRows' forward-KL terms with the composed tfjs ops instead of the fused op (returns the previous setting). */
export function useFusedRowTerms(on: boolean): boolean {
  const was = fusedRowsEnabled;
  fusedRowsEnabled = on;
  return was;
}

/** Divergence settings used by MDist (the `distill` config section). */
export type MdistOptions = Pick<DistillConfig, 'divergence' | 'temperature' | 'skewLambda'>;

/**
 * Added to the squared Frobenius norms of the relation matrices in RDist, under the rsqrt.
 * Negligible against any real logits (it matters only once ‖R‖ < ~1e-5); keeps the loss at 1
 * and the gradient finite (no NaN) for all-zero inputs; rsqrt(eps)³ = 1e18 stays far from fp32 overflow.
 */
export const RDIST_EPS = 1e-12;

function checkLogits(name: string, fn: string, x: tf.Tensor, rank: number): void {
  if (x.rank !== rank) throw new Error(`${fn}: ${name} must have rank ${rank}, got shape [${x.shape}]`);
}

function checkSame(fn: string, aName: string, a: tf.Tensor, bName: string, b: tf.Tensor): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`${fn}: ${aName} [${a.shape}] and ${bName} [${b.shape}] must have equal shapes`);
  }
}

/**
 * Token-level cross-entropy pooled over the batch:
 * `Σ mask·(−log softmax(logits)[target]) / max(Σ mask, 1)`.
 * Position i predicts `targets[b, i]`, which is already the NEXT token (label[i+1]): the shift is
 * done by the batch builder. Targets outside [0, V) (e.g. -100) pick nothing; mask them out.
 * @param logits [B, L, V] student logits
 * @param targets [B, L] int32 next-token ids
 * @param mask [B, L] 1 where position i predicts a target token (0/1, any numeric dtype)
 * @returns scalar float32; 0 when the mask is empty
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const fn = 'maskedCrossEntropy';
  checkLogits('logits', fn, logits, 3);
  const [B, L, V] = logits.shape;
  if (!tf.util.arraysEqual(targets.shape, [B, L])) throw new Error(`${fn}: targets must be [${B}, ${L}], got [${targets.shape}]`);
  if (targets.dtype !== 'int32') throw new Error(`${fn}: targets must be int32 token ids, got ${targets.dtype}`);
  checkSame(fn, 'targets', targets, 'mask', mask);
  return tf.tidy(() => {
    const f = logits.dtype === 'float32' ? logits : tf.cast(logits, 'float32');
    const logp = tf.logSoftmax(tf.reshape(f, [B * L, V]));
    // int32 oneHot then cast: the wasm OneHot kernel ignores dtype 'float32' (writes int bits).
    const pick = tf.cast(tf.oneHot(tf.reshape(targets, [B * L]), V), 'float32');
    const nll = tf.neg(tf.sum(tf.mul(logp, pick), 1));
    return maskedMean(nll, tf.reshape(mask, [B * L]), fn);
  });
}

/** Mean of rowDivergence over the positions where `mask` = 1 (pooled over the batch). */
function mdistMasked(fn: string, tLogits: tf.Tensor3D, sLogits: tf.Tensor3D, mask: tf.Tensor2D, opts: MdistOptions): tf.Scalar {
  checkLogits('sLogits', fn, sLogits, 3);
  checkSame(fn, 'tLogits', tLogits, 'sLogits', sLogits);
  const [B, L, V] = sLogits.shape;
  if (!tf.util.arraysEqual(mask.shape, [B, L])) throw new Error(`${fn}: mask must be [${B}, ${L}], got [${mask.shape}]`);
  return tf.tidy(() => {
    const d = rowDivergence(
      tf.reshape(tLogits, [B * L, V]), tf.reshape(sLogits, [B * L, V]),
      opts.divergence, opts.temperature, opts.skewLambda);
    return maskedMean(d, tf.reshape(mask, [B * L]), fn);
  });
}

/**
 * MDist, response part `L_res`: mean over the positions with targetMask = 1 (the same shifted
 * positions as CE, pooled over the batch) of D(p_T[i] ‖ p_S[i]) (`opts.divergence`).
 * @param tLogits [B, L, V] teacher logits (constant target)
 * @param sLogits [B, L, V] student logits
 * @param targetMask [B, L] 1 where position i predicts a target token (label[i+1] is a target)
 * @returns scalar float32; 0 when the mask is empty
 */
export function mdistResponse(tLogits: tf.Tensor3D, sLogits: tf.Tensor3D, targetMask: tf.Tensor2D, opts: MdistOptions): tf.Scalar {
  return mdistMasked('mdistResponse', tLogits, sLogits, targetMask, opts);
}

/**
 * MDist, visual part `L_vis`: mean over the positions with visualMask = 1 of D(p_T[i] ‖ p_S[i]).
 * UNSHIFTED: the logits emitted at the positions that hold the visual tokens (B·Np positions for
 * a batch where every sample has an image).
 * @param tLogits [B, L, V] teacher logits (constant target)
 * @param sLogits [B, L, V] student logits
 * @param visualMask [B, L] 1 at the positions holding visual tokens
 * @returns scalar float32; 0 when the mask is empty
 */
export function mdistVisual(tLogits: tf.Tensor3D, sLogits: tf.Tensor3D, visualMask: tf.Tensor2D, opts: MdistOptions): tf.Scalar {
  return mdistMasked('mdistVisual', tLogits, sLogits, visualMask, opts);
}

const gramOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const z = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([z]);
  return {
    value: tf.matMul(z as tf.Tensor3D, tf.transpose(z, [0, 2, 1]) as tf.Tensor3D),
    // R = Z Zᵀ  =>  dZ = (G + Gᵀ) Z: one untransposed matMul (the fast path on wasm).
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.matMul(tf.add(dy, tf.transpose(dy, [0, 2, 1])) as tf.Tensor3D, saved[0] as tf.Tensor3D),
  };
});

/**
 * Batched relation (Gram) matrix R = Z Zᵀ per sample.
 * @param z [B, Np, V]
 * @returns [B, Np, Np]
 */
export function relationMatrix(z: tf.Tensor3D): tf.Tensor3D {
  return gramOp(z) as tf.Tensor3D;
}

/**
 * RDist `L_rel`: per sample, Rs = Zs Zsᵀ and Rt = Zt Ztᵀ from the raw visual-position logits
 * (no normalisation before the product), L = 1 − cos(vec(Rs), vec(Rt)) computed as
 * `dot · rsqrt(‖Rs‖² + eps) · rsqrt(‖Rt‖² + eps)` (eps = {@link RDIST_EPS}); then the mean over
 * the samples with sampleMask = 1. Range [0, 2]; 0 when Rs ∝ Rt.
 * @param tVis [B, Np, V] teacher logits at the visual positions (constant target)
 * @param sVis [B, Np, V] student logits at the visual positions
 * @param sampleMask [B] 1 for samples that have an image
 * @param tRel [B, Np, Np] the teacher's relation matrices when already known (a top-k teacher
 *   cache stores them exactly); otherwise computed from tVis
 * @returns scalar float32; 0 when no sample has sampleMask = 1
 */
export function rdist(tVis: tf.Tensor3D, sVis: tf.Tensor3D, sampleMask: tf.Tensor1D, tRel?: tf.Tensor3D): tf.Scalar {
  const fn = 'rdist';
  checkLogits('sVis', fn, sVis, 3);
  checkSame(fn, 'tVis', tVis, 'sVis', sVis);
  const [B, Np] = sVis.shape;
  if (!tf.util.arraysEqual(sampleMask.shape, [B])) throw new Error(`${fn}: sampleMask must be [${B}], got [${sampleMask.shape}]`);
  return tf.tidy(() => {
    const f = (x: tf.Tensor3D): tf.Tensor3D => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));
    const rs = tf.reshape(relationMatrix(f(sVis)), [B, Np * Np]);
    if (tRel && !tf.util.arraysEqual(tRel.shape, [B, Np, Np])) throw new Error(`${fn}: tRel must be [${B}, ${Np}, ${Np}], got [${tRel.shape}]`);
    const rt = tf.reshape(tRel ? stopGradient(tRel) : relationMatrix(f(stopGradient(tVis))), [B, Np * Np]);
    const dot = tf.sum(tf.mul(rs, rt), 1);
    const invS = tf.rsqrt(tf.add(tf.sum(tf.square(rs), 1), RDIST_EPS));
    const invT = tf.rsqrt(tf.add(tf.sum(tf.square(rt), 1), RDIST_EPS));
    const perSample = tf.sub(1, tf.mul(tf.mul(dot, invS), invT));
    return maskedMean(perSample, sampleMask, fn);
  });
}

/** Inputs of {@link kdLoss}. All masks are 0/1 of any numeric dtype. */
export interface KdLossInputs {
  /** [B, L, V] student logits at every position. */
  sLogits: tf.Tensor3D;
  /** [B, L, V] teacher logits; absent (no teacher, e.g. PT/SFT) => only CE. */
  tLogits?: tf.Tensor3D;
  /** [B, L] int32 next-token ids (targets[b, i] = label[i+1]). */
  targets: tf.Tensor2D;
  /** [B, L] 1 where position i predicts a target token (CE and L_res positions). */
  targetMask: tf.Tensor2D;
  /** [B, L] 1 at the positions holding visual tokens (L_vis positions, unshifted). */
  visualMask: tf.Tensor2D;
  /** [Bi, Np, V] student logits at the visual positions of the Bi samples with an image; absent when the batch has no image. */
  sVis?: tf.Tensor3D;
  /** [Bi, Np, V] teacher logits at the same positions (given exactly when sVis is). */
  tVis?: tf.Tensor3D;
  /** [B] 1 for samples with an image; default: 1 where visualMask has any 1 in the row. */
  sampleMask?: tf.Tensor1D;
}

/** Raw (unweighted) values of each loss term; a term is present only if it was computed. */
export interface KdLossTerms {
  ce: tf.Scalar;
  res?: tf.Scalar;
  vis?: tf.Scalar;
  rel?: tf.Scalar;
}

/** Factor applied to each raw term (see {@link KdRowInputs.share}). */
type TermScale = Record<'ce' | 'res' | 'vis' | 'rel', number>;
const NO_SCALE: TermScale = { ce: 1, res: 1, vis: 1, rel: 1 };

/** The four raw terms, each computed only when {@link combineTerms} asks for it. */
interface TermFns {
  ce: () => tf.Scalar;
  res: () => tf.Scalar;
  vis: () => tf.Scalar;
  rel: () => tf.Scalar;
}

/**
 * Total = ce·CE + α·L_res + β·L_vis + γ·L_rel, the one place where the terms are weighted and
 * summed (shared by {@link kdLoss} and {@link kdLossRows}).
 * CE is always computed (it is logged) and added when weights.ce ≠ 0; L_res, L_vis and L_rel are
 * computed only when their weight is nonzero AND a teacher is given; L_vis and L_rel also need
 * the batch's visual-position logits (a batch with no image gets CE + α·L_res, and its visual
 * terms are absent from `terms`, not 0).
 */
function combineTerms(fn: string, weights: LossWeights, teacher: boolean, hasImages: boolean, f: TermFns, scale: TermScale = NO_SCALE): { total: tf.Scalar; terms: KdLossTerms } {
  for (const k of ['ce', 'res', 'vis', 'rel'] as const) {
    const w = weights[k];
    if (!(Number.isFinite(w) && w >= 0)) throw new Error(`${fn}: loss weight "${k}" must be a finite number >= 0, got ${w}`);
  }
  const use = {
    res: teacher && weights.res !== 0,
    vis: teacher && hasImages && weights.vis !== 0,
    rel: teacher && hasImages && weights.rel !== 0,
  };
  const out = tf.tidy(() => {
    const scaled = (k: keyof TermFns): tf.Scalar => (scale[k] === 1 ? f[k]() : tf.mul(f[k](), scale[k]));
    const ce = scaled('ce');
    // With weights.ce = 0 the total still starts from 0·CE, so it stays a tensor of the graph.
    let total: tf.Scalar = tf.mul(ce, weights.ce);
    const terms: Record<string, tf.Scalar> = { ce };
    for (const k of ['res', 'vis', 'rel'] as const) {
      if (!use[k]) continue;
      terms[k] = scaled(k);
      total = tf.add(total, tf.mul(terms[k], weights[k]));
    }
    return { total, ...terms } as unknown as tf.TensorContainerObject;
  }) as unknown as { total: tf.Scalar } & KdLossTerms;
  const { total, ...terms } = out;
  return { total, terms };
}

function checkVisPair(fn: string, teacher: boolean, sVis?: tf.Tensor3D, tVis?: tf.Tensor3D): boolean {
  if (teacher && (sVis === undefined) !== (tVis === undefined)) {
    throw new Error(`${fn}: sVis and tVis ([B, Np, V] visual-position logits) must be given together (got only ${sVis ? 'sVis' : 'tVis'})`);
  }
  return sVis !== undefined && tVis !== undefined;
}

/**
 * {@link combineTerms} on logits at every position, with masks selecting the positions of each
 * term. Text-only samples contribute to CE and L_res only (their masks are empty elsewhere).
 * @returns `total` (scalar, differentiable w.r.t. the student inputs) and the raw `terms`;
 *   the caller owns (must dispose) every returned tensor.
 */
export function kdLoss(parts: KdLossInputs, weights: LossWeights, opts: MdistOptions): { total: tf.Scalar; terms: KdLossTerms } {
  const teacher = parts.tLogits;
  const hasImages = checkVisPair('kdLoss', teacher !== undefined, parts.sVis, parts.tVis);
  return combineTerms('kdLoss', weights, teacher !== undefined, hasImages, {
    ce: () => maskedCrossEntropy(parts.sLogits, parts.targets, parts.targetMask),
    res: () => mdistResponse(teacher!, parts.sLogits, parts.targetMask, opts),
    vis: () => mdistVisual(teacher!, parts.sLogits, parts.visualMask, opts),
    rel: () => rdist(parts.tVis!, parts.sVis!, parts.sampleMask ?? (tf.max(parts.visualMask, 1) as tf.Tensor1D)),
  });
}

/**
 * Inputs of {@link kdLossRows}: logits only at the rows the losses read (what the trainer
 * computes, and what a teacher-output cache stores), instead of every position.
 */
export interface KdRowInputs {
  /** [Nt, V] student logits at the Nt response positions of the batch (position i predicts token i+1). */
  sRes: tf.Tensor2D;
  /** [Nt, V] teacher logits at the same positions; absent => no teacher, only CE. */
  tRes?: tf.Tensor2D;
  /** int32 [Nt] the token each of those positions predicts. */
  targets: tf.Tensor1D;
  /** [Bi, Np, V] student logits at the visual positions of the Bi samples with an image; absent without images. */
  sVis?: tf.Tensor3D;
  /** [Bi, Np, V] teacher logits at the same positions (given exactly when sVis is, with a teacher). */
  tVis?: tf.Tensor3D;
  /** [Bi, Np, Np] the teacher's relation matrices, when stored (top-k cache); else computed from tVis. */
  tRel?: tf.Tensor3D;
  /**
   * When these rows are one shard of a batch split over workers: the batch's totals of response
   * rows (`nt`) and images (`ni`). Each term is then this shard's share of the batch mean (its
   * sum over the shard divided by the batch's count), so the shards' terms and gradients add up
   * to those of the whole batch.
   */
  share?: { nt: number; ni: number };
}

/**
 * The same total and terms as {@link kdLoss}, from logits gathered at the rows each term reads:
 * CE and L_res are means over the Nt response rows (pooled over the batch), L_vis the mean over
 * the Bi·Np visual rows, L_rel the mean over the Bi images. Equal to kdLoss on the full logits
 * with the corresponding masks (tested), at a fraction of the softmax work.
 */
export function kdLossRows(parts: KdRowInputs, weights: LossWeights, opts: MdistOptions): { total: tf.Scalar; terms: KdLossTerms } {
  const teacher = parts.tRes !== undefined;
  const hasImages = checkVisPair('kdLossRows', teacher, parts.sVis, parts.tVis);
  const [Nt, V] = parts.sRes.shape;
  const asBatch = (x: tf.Tensor2D): tf.Tensor3D => x.reshape([1, Nt, V]);
  const ones = (shape: [number, number]): tf.Tensor2D => tf.ones(shape);
  const bi = parts.sVis?.shape[0] ?? 0;
  const sh = parts.share;
  const frac = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);
  const scale: TermScale = sh ? { ce: frac(Nt, sh.nt), res: frac(Nt, sh.nt), vis: frac(bi, sh.ni), rel: frac(bi, sh.ni) } : NO_SCALE;
  if (opts.divergence === 'forward_kl' && fusedRowsEnabled) {
    // The default divergence: all four terms as one op (fusedRows.ts), the same values.
    let v: tf.Tensor1D | undefined;
    const term = (k: number) => (): tf.Scalar => {
      v ??= fusedRowTerms({ sRes: parts.sRes, targets: parts.targets, tRes: parts.tRes, sVis: hasImages ? parts.sVis : undefined, tVis: hasImages ? parts.tVis : undefined, tRel: hasImages ? parts.tRel : undefined, temperature: opts.temperature, scale, relEps: RDIST_EPS });
      return tf.reshape(tf.slice(v, [k], [1]), []) as tf.Scalar;
    };
    // The op applies the share scale itself.
    return combineTerms('kdLossRows', weights, teacher, hasImages, { ce: term(0), res: term(1), vis: term(2), rel: term(3) });
  }
  return combineTerms('kdLossRows', weights, teacher, hasImages, {
    ce: () => maskedCrossEntropy(asBatch(parts.sRes), parts.targets.reshape([1, Nt]) as tf.Tensor2D, ones([1, Nt])),
    res: () => mdistResponse(asBatch(parts.tRes!), asBatch(parts.sRes), ones([1, Nt]), opts),
    vis: () => mdistVisual(parts.tVis!, parts.sVis!, ones([parts.sVis!.shape[0], parts.sVis!.shape[1]]), opts),
    rel: () => rdist(parts.tVis!, parts.sVis!, tf.ones([parts.sVis!.shape[0]]) as tf.Tensor1D, parts.tRel),
  }, scale);
}
