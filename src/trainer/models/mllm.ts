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
import { embedTokens, initQwen2, lmHead, qwen2Hidden } from './qwen2';

export interface MllmOutput {
  /** [B·L, V] logits at every position. */
  logits: tf.Tensor2D;
  /** [Bi, Np, V] raw logits at the visual positions (null without images). */
  visLogits: tf.Tensor3D | null;
}

/** Logits at the rows the training losses read (see {@link Mllm.forwardRows}). */
export interface MllmRows {
  /** [Nt, V] at the response positions. */
  res: tf.Tensor2D;
  /** [Bi, Np, V] at the visual positions (null without images). */
  vis: tf.Tensor3D | null;
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
    const { Bi, Np } = batch;
    // The decoder runs on the packed rows; the padded grid gets them back, zeros at padding.
    const packed = this.hidden(batch, visionFeats);
    const h = gatherRows(tf.concat([packed, tf.zeros([1, this.cfg.lm.dim])], 0) as tf.Tensor2D, batch.unpack);
    const logits = lmHead(this.params, this.cfg.lm, h);
    const visLogits = batch.visualPos && Bi > 0 ? (gatherRows(logits, batch.visualPos).reshape([Bi, Np, this.vocab]) as tf.Tensor3D) : null;
    return { logits, visLogits };
  }

  /**
   * Logits only at the rows the training losses read (`batch.lossRows`): the response positions
   * and the visual positions. The LM head and every softmax after it then run on Nt + Bi·Np rows
   * instead of B·L. Row for row equal to {@link forward}.
   * @returns res [Nt, V] at batch.targetPos; vis [Bi, Np, V] at batch.visualPos (null without images)
   */
  forwardRows(batch: Batch, visionFeats: tf.Tensor3D | null): MllmRows {
    const { Bi, Np, Nt } = batch;
    const logits = this.logitsAt(batch, visionFeats, batch.lossRows);
    if (!(batch.visualPos && Bi > 0)) return { res: logits, vis: null };
    const [res, vis] = tf.split(logits, [Nt, Bi * Np], 0) as [tf.Tensor2D, tf.Tensor2D];
    return { res, vis: vis.reshape([Bi, Np, this.vocab]) as tf.Tensor3D };
  }

  /**
   * Logits at the given packed rows only (row seqStarts[b] + i is position i of sample b), e.g.
   * the last position of each prompt when generating.
   * @param rows int32 [M], created outside any function being differentiated
   * @returns [M, V]
   */
  logitsAt(batch: Batch, visionFeats: tf.Tensor3D | null, rows: tf.Tensor1D): tf.Tensor2D {
    return lmHead(this.params, this.cfg.lm, gatherRows(this.hidden(batch, visionFeats), rows));
  }

  /** Final hidden states [N, d] of the packed rows: token embeddings with the projected image spliced in, through the decoder. */
  private hidden(batch: Batch, visionFeats: tf.Tensor3D | null): tf.Tensor2D {
    const { Bi, Np } = batch;
    let emb: tf.Tensor2D = embedTokens(this.params, batch.tokens);
    if (visionFeats && Bi > 0) {
      const vis = projectorForward(this.params, visionFeats.reshape([Bi * Np, this.dVision]) as tf.Tensor2D);
      emb = gatherRows(tf.concat([emb, vis], 0) as tf.Tensor2D, batch.srcIndex);
    }
    return qwen2Hidden(this.params, this.cfg.lm, emb, batch.seqStarts);
  }

  dispose(): void {
    this.params.dispose();
  }
}
