/**
 * `stopGradient` and `maskedMean`: two small tensor helpers shared by the loss functions.
 * tfjs has no stop-gradient op, so it is built from `tf.customGrad` with a zero gradient.
 */
import * as tf from '@tensorflow/tfjs';

const stopGradientOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: (args[0] as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Identity in the forward pass, zero gradient in the backward pass (like PyTorch's `detach`).
 * Used on teacher logits: the teacher is a constant target of the distillation losses.
 * @param x any float tensor
 * @returns a new tensor equal to `x`, same shape
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/**
 * Mean of `values` over the entries where `mask` is 1: `Σ mask·values / max(Σ mask, 1)`.
 * An all-zero mask gives exactly 0 (never NaN).
 * @param values [...S] float32
 * @param mask [...S] 0/1 (any numeric dtype; cast to float32)
 * @param where name used in error messages
 * @returns scalar float32
 */
export function maskedMean(values: tf.Tensor, mask: tf.Tensor, where: string): tf.Scalar {
  if (!tf.util.arraysEqual(values.shape, mask.shape)) {
    throw new Error(`${where}: mask shape [${mask.shape}] does not match values shape [${values.shape}]`);
  }
  return tf.tidy(() => {
    const m = mask.dtype === 'float32' ? mask : tf.cast(mask, 'float32');
    const count = tf.maximum(tf.sum(m), 1);
    return tf.div(tf.sum(tf.mul(values, m)), count) as tf.Scalar;
  });
}
