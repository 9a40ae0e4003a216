/**
 * MLP projector of an MLLM: Linear(d_vision -> hidden) -> GELU -> Linear(hidden -> d_lm).
 * (The paper's projector has hidden = d_lm; the width is a config value here.)
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from '../nn/params';
import { gelu, linear } from '../nn/ops';

export function initProjector(p: ParamStore, dVision: number, hidden: number, dLm: number): void {
  p.dense('projector.w1', dVision, hidden);
  p.bias('projector.b1', dVision, hidden);
  p.dense('projector.w2', hidden, dLm);
  p.bias('projector.b2', hidden, dLm);
}

/**
 * @param p store holding projector.* parameters
 * @param feats [N, d_vision]
 * @returns [N, d_lm]
 */
export function projectorForward(p: ParamStore, feats: tf.Tensor2D): tf.Tensor2D {
  const h = gelu(linear(feats, p.get('projector.w1') as tf.Tensor2D, p.get('projector.b1') as tf.Tensor1D));
  return linear(h, p.get('projector.w2') as tf.Tensor2D, p.get('projector.b2') as tf.Tensor1D) as tf.Tensor2D;
}
