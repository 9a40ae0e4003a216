/**
 * Qwen2-style decoder LM: token embedding, pre-RMSNorm blocks with rotary causal self-attention
 * (q/k/v with bias, o without, as in Qwen2) and SwiGLU MLP, final RMSNorm, LM head (optionally
 * tied to the embedding). Parameter names follow Hugging Face's Qwen2 layout one to one
 * (`lm.layers.N.self_attn.q_proj.weight` ~ `lm.layers.N.attn.wq`), transposed to [in, out].
 */
import * as tf from '@tensorflow/tfjs';
import type { LmConfig } from '../config/types';
import { ParamStore } from '../nn/params';
import { multiHeadAttention } from '../nn/attention';
import { gatherRows, linear, matMul2d, rmsNorm, silu } from '../nn/ops';

export function initQwen2(p: ParamStore, cfg: LmConfig, vocab: number): void {
  const d = cfg.dim;
  p.normal('lm.embed', [vocab, d], 1 / Math.sqrt(d));
  for (let i = 0; i < cfg.layers; i++) {
    const b = `lm.layers.${i}.`;
    p.ones(b + 'ln1', [d]);
    p.dense(b + 'attn.wq', d, d); p.bias(b + 'attn.bq', d, d);
    p.dense(b + 'attn.wk', d, d); p.bias(b + 'attn.bk', d, d);
    p.dense(b + 'attn.wv', d, d); p.bias(b + 'attn.bv', d, d);
    p.dense(b + 'attn.wo', d, d);
    p.ones(b + 'ln2', [d]);
    p.dense(b + 'mlp.gate', d, cfg.mlpHidden);
    p.dense(b + 'mlp.up', d, cfg.mlpHidden);
    p.dense(b + 'mlp.down', cfg.mlpHidden, d);
  }
  p.ones('lm.norm', [d]);
  if (!cfg.tieEmbeddings) p.dense('lm.head', d, vocab);
}

/** Token embeddings. @param ids int32 [N] @returns [N, d] */
export function embedTokens(p: ParamStore, ids: tf.Tensor1D): tf.Tensor2D {
  return gatherRows(p.get('lm.embed') as tf.Tensor2D, ids);
}

/**
 * Runs the decoder on input embeddings and returns the logits at every row.
 * @param x [N, d] input embeddings of sequences back to back (text and projected visual tokens already spliced)
 * @param seqStarts [S + 1] first row of each sequence, then N
 * @returns logits [N, V]
 */
export function qwen2Forward(p: ParamStore, cfg: LmConfig, x: tf.Tensor2D, seqStarts: number[]): tf.Tensor2D {
  return lmHead(p, cfg, qwen2Hidden(p, cfg, x, seqStarts));
}

/**
 * The LM head (the embedding matrix transposed when tied).
 * @param h [N, d] final hidden states (after the last RMSNorm)
 * @returns logits [N, V]
 */
export function lmHead(p: ParamStore, cfg: LmConfig, h: tf.Tensor2D): tf.Tensor2D {
  const head = cfg.tieEmbeddings ? (tf.transpose(p.get('lm.embed')) as tf.Tensor2D) : (p.get('lm.head') as tf.Tensor2D);
  return matMul2d(h, head);
}

/**
 * Runs the decoder blocks and the final RMSNorm on packed rows: S sequences back to back, no
 * padding (every op but attention works row by row; attention stays within each sequence, and
 * rotary positions restart at 0 in each).
 * @param x [N, d] input embeddings (text and projected visual tokens already spliced)
 * @param seqStarts [S + 1] first row of each sequence, then N
 * @returns final hidden states [N, d]
 */
export function qwen2Hidden(p: ParamStore, cfg: LmConfig, x: tf.Tensor2D, seqStarts: number[]): tf.Tensor2D {
  const [N, d] = x.shape;
  const H = cfg.heads;
  const rope = { theta: cfg.ropeTheta };
  let h: tf.Tensor = x.reshape([1, N, d]);
  for (let i = 0; i < cfg.layers; i++) {
    const b = `lm.layers.${i}.`;
    const n1 = rmsNorm(h, p.get(b + 'ln1') as tf.Tensor1D, cfg.rmsEps);
    const proj = (w: string, bias: string) => linear(n1, p.get(b + w) as tf.Tensor2D, p.get(b + bias) as tf.Tensor1D) as tf.Tensor3D;
    const o = multiHeadAttention(proj('attn.wq', 'attn.bq'), proj('attn.wk', 'attn.bk'), proj('attn.wv', 'attn.bv'), { heads: H, causal: true, rope, seqStarts });
    h = tf.add(h, linear(o, p.get(b + 'attn.wo') as tf.Tensor2D));
    const n2 = rmsNorm(h, p.get(b + 'ln2') as tf.Tensor1D, cfg.rmsEps);
    const gate = silu(linear(n2, p.get(b + 'mlp.gate') as tf.Tensor2D));
    const up = linear(n2, p.get(b + 'mlp.up') as tf.Tensor2D);
    h = tf.add(h, linear(tf.mul(gate, up), p.get(b + 'mlp.down') as tf.Tensor2D));
  }
  return rmsNorm(h, p.get('lm.norm') as tf.Tensor1D, cfg.rmsEps).reshape([N, d]) as tf.Tensor2D;
}
