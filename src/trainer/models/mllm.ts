/**
 * A multimodal LM (teacher or student): shared frozen vision encoder -> own MLP projector ->
 * Np visual embeddings spliced at the `<image>` slots -> own Qwen2-style decoder -> logits at
 * every position. Owns the projector.* and lm.* parameters; the vision encoder is passed in.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/types';
import { ParamStore } from '../nn/params';
import { gatherRows } from '../nn/ops';
import type { Batch } from './batch';
import { initProjector, projectorForward } from './projector';
import { embedTokens, initQwen2, qwen2Forward } from './qwen2';

export interface MllmOutput {
  /** [B·L, V] logits at every position. */
  logits: tf.Tensor2D;
  /** [Bi, Np, V] raw logits at the visual positions (null without images). */
  visLogits: tf.Tensor3D | null;
}

export class Mllm {
  readonly params: ParamStore;

  constructor(readonly cfg: ModelConfig, readonly dVision: number, readonly vocab: number, seed: number) {
    this.params = new ParamStore(seed);
    initProjector(this.params, dVision, cfg.projector.hidden, cfg.lm.dim);
    initQwen2(this.params, cfg.lm, vocab);
  }

  /**
   * @param batch index tensors from buildBatch
   * @param visionFeats [Bi, Np, d_vision] features of the batch's images (null without images)
   */
  forward(batch: Batch, visionFeats: tf.Tensor3D | null): MllmOutput {
    const { B, L, Bi, Np } = batch;
    const d = this.cfg.lm.dim;
    let emb: tf.Tensor2D = embedTokens(this.params, batch.tokens);
    if (visionFeats && Bi > 0) {
      const vis = projectorForward(this.params, visionFeats.reshape([Bi * Np, this.dVision]) as tf.Tensor2D);
      emb = gatherRows(tf.concat([emb, vis], 0) as tf.Tensor2D, batch.srcIndex);
    }
    const logits = qwen2Forward(this.params, this.cfg.lm, emb.reshape([B, L, d]) as tf.Tensor3D);
    const visLogits = batch.visualPos && Bi > 0 ? (gatherRows(logits, batch.visualPos).reshape([Bi, Np, this.vocab]) as tf.Tensor3D) : null;
    return { logits, visLogits };
  }

  /** Parameter name prefixes of a trainable-module list. */
  static prefixes(modules: ('projector' | 'lm')[]): string[] {
    return modules.map((m) => m + '.');
  }

  dispose(): void {
    this.params.dispose();
  }
}
