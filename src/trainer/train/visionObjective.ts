/**
 * Objectives of the vision pre-training stage (the stand-in for a pretrained SigLIP encoder):
 * - `cells` (built-in world): for each of the 3×3 grid cells, classify the object's colour,
 *   shape and size (each with a "none" class) from the last block's patch features;
 * - `words` (any captioned data, e.g. real LLaVA captions): multi-label prediction of which
 *   caption words occur (sigmoid BCE).
 * Labels are built on the host; the head is a linear map of the flattened patch features.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COLOR_NAMES, readWorldScenes, SHAPES, SIZES } from '../data';
import type { EncodedSample } from '../models/batch';

export interface VisionObjective {
  name: 'cells' | 'words';
  /** Head output width. */
  outDim: number;
  /** Host labels of the samples at `idx` as a tensor the loss understands. */
  labels(idx: number[]): tf.Tensor2D;
  /** @param logits [B, outDim] @param labels from labels() @returns scalar */
  loss(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar;
}

const GROUPS = [COLOR_NAMES.length + 1, SHAPES.length + 1, SIZES.length + 1];
const PER_CELL = GROUPS.reduce((a, b) => a + b, 0);

/**
 * Cell-attribute objective from the world's scenes.json.
 * @param imageIds scene id of each training sample (null for samples without a scene)
 */
export function cellObjective(worldDir: string, imageIds: (string | null)[]): VisionObjective | null {
  const file = join(worldDir, 'scenes.json');
  if (!existsSync(file)) return null;
  const scenes = readWorldScenes(worldDir);
  const byId = new Map(scenes.train.map((s) => [s.id, s]));
  const outDim = 9 * PER_CELL;
  return {
    name: 'cells',
    outDim,
    labels(idx) {
      const a = new Float32Array(idx.length * outDim);
      idx.forEach((i, r) => {
        const scene = imageIds[i] ? byId.get(imageIds[i]!) : undefined;
        for (let c = 0; c < 9; c++) {
          const o = scene?.objects.find((x) => x.cell === c);
          const cls = o ? [COLOR_NAMES.indexOf(o.color) + 1, SHAPES.indexOf(o.shape) + 1, SIZES.indexOf(o.size) + 1] : [0, 0, 0];
          let off = r * outDim + c * PER_CELL;
          cls.forEach((k, g) => { a[off + k] = 1; off += GROUPS[g]; });
        }
      });
      return tf.tensor2d(a, [idx.length, outDim]);
    },
    loss(logits, labels) {
      const B = logits.shape[0];
      const l3 = logits.reshape([B, 9, PER_CELL]);
      const parts = tf.split(l3, GROUPS, 2).map((p) => tf.logSoftmax(p));
      const logp = tf.concat(parts, 2).reshape([B, outDim]);
      return tf.div(tf.neg(tf.sum(tf.mul(logp, labels))), B * 9 * GROUPS.length) as tf.Scalar;
    },
  };
}

/** Caption-word objective: works on any captioned data. */
export function wordObjective(set: EncodedSample[], vocab: number, eosId: number): VisionObjective {
  return {
    name: 'words',
    outDim: vocab,
    labels(idx) {
      const a = new Float32Array(idx.length * vocab);
      idx.forEach((i, r) => set[i].tokens.forEach((t, j) => { if (set[i].isLabel[j] && t !== eosId) a[r * vocab + t] = 1; }));
      return tf.tensor2d(a, [idx.length, vocab]);
    },
    loss(logits, labels) {
      // Stable BCE with logits: max(x,0) − x·y + log(1 + exp(−|x|)), summed over words, mean over images.
      const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      return tf.mean(tf.sum(bce, 1)) as tf.Scalar;
    },
  };
}
