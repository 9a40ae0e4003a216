/**
 * Per-row divergences between the teacher's distribution p and the student's distribution q
 * (the core of MDist), computed from max-subtracted log-softmax for stability, in float32.
 * The teacher side is a constant target (no gradient flows into teacher logits).
 */
import * as tf from '@tensorflow/tfjs';
import type { Divergence } from '../config/types';
import { stopGradient } from './helpers';

/** Every divergence kind, in the order the UI lists them. */
export const DIVERGENCES: readonly Divergence[] = [
  'forward_kl', 'reverse_kl', 'js', 'tv', 'skew_forward_kl', 'skew_reverse_kl',
];

/** What p, q, T and λ mean in {@link DIVERGENCE_FORMULAS}. */
export const DIVERGENCE_LEGEND =
  'p = softmax(teacher logits / T) (target), q = softmax(student logits / T), λ = skew mixing weight; ' +
  'averaged over positions, no T² factor';

/** Human-readable formula of each divergence kind (shown next to its name in the UI). */
export const DIVERGENCE_FORMULAS: Record<Divergence, string> = {
  forward_kl: 'KL(p‖q) = Σᵥ p·(log p − log q)',
  reverse_kl: 'KL(q‖p) = Σᵥ q·(log q − log p)',
  js: 'JS(p,q) = ½·KL(p‖m) + ½·KL(q‖m), m = (p + q)/2',
  tv: 'TV(p,q) = ½·Σᵥ |p − q|',
  skew_forward_kl: 'SKL(p,q) = KL(p ‖ λp + (1−λ)q)',
  skew_reverse_kl: 'SRKL(p,q) = KL(q ‖ λq + (1−λ)p)',
};

/** Σᵥ exp(la)·(la − lb) per row: KL(a‖b) from log-probabilities. [N,V] x [N,V] -> [N] */
function klFromLogs(la: tf.Tensor2D, lb: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.exp(la), tf.sub(la, lb)), 1) as tf.Tensor1D;
}

/** log(exp(a) + exp(b)) elementwise, stable (max-shifted). Exact gradient: the shift cancels. */
function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const m = tf.maximum(a, b);
  return tf.add(m, tf.log(tf.add(tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)))));
}

/**
 * KL(a ‖ λa + (1−λ)b) per row from log-probabilities la, lb. λ in [0, 1]:
 * λ = 0 is plain KL(a‖b); λ = 1 is identically 0 (kept connected to the graph).
 * [N,V] x [N,V] -> [N]
 */
function skewKl(la: tf.Tensor2D, lb: tf.Tensor2D, lambda: number): tf.Tensor1D {
  if (lambda <= 0) return klFromLogs(la, lb);
  if (lambda >= 1) return tf.mul(tf.sum(tf.add(la, lb), 1), 0) as tf.Tensor1D;
  const lmix = logAddExp(tf.add(la, Math.log(lambda)), tf.add(lb, Math.log(1 - lambda))) as tf.Tensor2D;
  return klFromLogs(la, lmix);
}

/**
 * Divergence between p = softmax(teacherLogits / T) and q = softmax(studentLogits / T), per row.
 * See {@link DIVERGENCE_FORMULAS}. No T² factor. Gradients flow into `studentLogits` only.
 * @param teacherLogits [N, V] teacher logits (target; treated as a constant)
 * @param studentLogits [N, V] student logits
 * @param kind divergence kind (config field `distill.divergence`)
 * @param temperature T > 0 (config field `distill.temperature`)
 * @param skewLambda λ in [0, 1] for the skew kinds (config field `distill.skewLambda`); ignored otherwise
 * @returns [N] float32 divergence per row
 */
export function rowDivergence(
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  kind: Divergence,
  temperature: number,
  skewLambda: number,
): tf.Tensor1D {
  if (teacherLogits.rank !== 2 || !tf.util.arraysEqual(teacherLogits.shape, studentLogits.shape)) {
    throw new Error(
      `rowDivergence: teacherLogits [${teacherLogits.shape}] and studentLogits [${studentLogits.shape}] ` +
      'must both be [N, V] with equal shapes (teacher and student must share the vocabulary)');
  }
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new Error(`rowDivergence: distill.temperature must be a finite number > 0, got ${temperature}`);
  }
  const skew = kind === 'skew_forward_kl' || kind === 'skew_reverse_kl';
  if (skew && !(Number.isFinite(skewLambda) && skewLambda >= 0 && skewLambda <= 1)) {
    throw new Error(`rowDivergence: distill.skewLambda must be in [0, 1], got ${skewLambda}`);
  }
  return tf.tidy(() => {
    const scale = (x: tf.Tensor2D): tf.Tensor2D => {
      const f = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      return (temperature === 1 ? f : tf.mul(f, 1 / temperature)) as tf.Tensor2D;
    };
    const lp = tf.logSoftmax(scale(stopGradient(teacherLogits))) as tf.Tensor2D;
    const lq = tf.logSoftmax(scale(studentLogits)) as tf.Tensor2D;
    switch (kind) {
      case 'forward_kl':
        return klFromLogs(lp, lq);
      case 'reverse_kl':
        return klFromLogs(lq, lp);
      case 'js': {
        const lm = tf.sub(logAddExp(lp, lq), Math.LN2) as tf.Tensor2D;
        return tf.mul(tf.add(klFromLogs(lp, lm), klFromLogs(lq, lm)), 0.5) as tf.Tensor1D;
      }
      case 'tv':
        return tf.mul(tf.sum(tf.abs(tf.sub(tf.exp(lp), tf.exp(lq))), 1), 0.5) as tf.Tensor1D;
      case 'skew_forward_kl':
        return skewKl(lp, lq, skewLambda);
      case 'skew_reverse_kl':
        return skewKl(lq, lp, skewLambda);
      default:
        throw new Error(`rowDivergence: unknown distill.divergence "${String(kind)}"; expected one of ${DIVERGENCES.join(', ')}`);
    }
  });
}
