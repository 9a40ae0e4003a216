/**
 * Small ViT vision encoder: patchify (done on the CPU by the data loader) -> linear patch
 * embedding + learned positions -> pre-norm transformer blocks. Features come from the block
 * chosen by `featureLayer` (-2 = second-to-last, as in LLaVA). Shared by teacher and student.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionConfig } from '../config/types';
import { ParamStore } from '../nn/params';
import { featureBlockIndex } from '../config/semantic';
import { packedAttention } from '../nn/attention';
import { gelu, layerNorm, linear } from '../nn/ops';

export function numPatches(cfg: VisionConfig): number {
  return (cfg.imageSize / cfg.patchSize) ** 2;
}

export function patchDim(cfg: VisionConfig): number {
  return cfg.patchSize * cfg.patchSize * 3;
}

/**
 * Blocks to run for the features. featureLayer indexes the block outputs Python-style
 * (-1 = last block, -2 = second-to-last as in LLaVA, 0 = first block).
 */
export function featureBlocks(cfg: VisionConfig): number {
  return featureBlockIndex(cfg.featureLayer, cfg.depth) + 1;
}

export class VisionEncoder {
  readonly params: ParamStore;

  constructor(readonly cfg: VisionConfig, seed: number) {
    const p = (this.params = new ParamStore(seed));
    const d = cfg.dim;
    p.dense('patch.w', patchDim(cfg), d);
    p.bias('patch.b', patchDim(cfg), d);
    p.normal('pos', [numPatches(cfg), d], 0.02);
    for (let i = 0; i < cfg.depth; i++) {
      const b = `blocks.${i}.`;
      p.ones(b + 'ln1.g', [d]); p.zeros(b + 'ln1.b', [d]);
      p.dense(b + 'attn.wqkv', d, 3 * d); p.bias(b + 'attn.bqkv', d, 3 * d);
      p.dense(b + 'attn.wo', d, d); p.bias(b + 'attn.bo', d, d);
      p.ones(b + 'ln2.g', [d]); p.zeros(b + 'ln2.b', [d]);
      p.dense(b + 'mlp.w1', d, d * cfg.mlpRatio); p.bias(b + 'mlp.b1', d, d * cfg.mlpRatio);
      p.dense(b + 'mlp.w2', d * cfg.mlpRatio, d); p.bias(b + 'mlp.b2', d * cfg.mlpRatio, d);
    }
  }

  /**
   * @param patches [B, Np, patchSize²·3] pixel patches in [0, 1]
   * @param blocks blocks to run (default: up to the feature layer)
   * @returns features [B, Np, dim] from the feature layer
   */
  forward(patches: tf.Tensor3D, blocks = featureBlocks(this.cfg)): tf.Tensor3D {
    const p = this.params;
    const H = this.cfg.heads;
    let x = tf.add(linear(tf.sub(patches, 0.5), p.get('patch.w') as tf.Tensor2D, p.get('patch.b') as tf.Tensor1D), p.get('pos'));
    for (let i = 0; i < blocks; i++) {
      const b = `blocks.${i}.`;
      const h = layerNorm(x, p.get(b + 'ln1.g') as tf.Tensor1D, p.get(b + 'ln1.b') as tf.Tensor1D);
      const qkv = linear(h, p.get(b + 'attn.wqkv') as tf.Tensor2D, p.get(b + 'attn.bqkv') as tf.Tensor1D) as tf.Tensor3D;
      const o = packedAttention(qkv, { heads: H, causal: false });
      x = tf.add(x, linear(o, p.get(b + 'attn.wo') as tf.Tensor2D, p.get(b + 'attn.bo') as tf.Tensor1D));
      const h2 = layerNorm(x, p.get(b + 'ln2.g') as tf.Tensor1D, p.get(b + 'ln2.b') as tf.Tensor1D);
      const m = linear(gelu(linear(h2, p.get(b + 'mlp.w1') as tf.Tensor2D, p.get(b + 'mlp.b1') as tf.Tensor1D)), p.get(b + 'mlp.w2') as tf.Tensor2D, p.get(b + 'mlp.b2') as tf.Tensor1D);
      x = tf.add(x, m);
    }
    return x as tf.Tensor3D;
  }
}
