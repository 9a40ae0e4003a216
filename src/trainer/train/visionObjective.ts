/**
 * Objectives of the vision pre-training stage (the stand-in for a pretrained SigLIP encoder):
 * - `cells` (built-in world): for each of the 3×3 grid cells, classify the object's colour,
 *   shape and size (each with a "none" class) from the last block's flattened patch features;
 * - `tokens` (built-in world, 3×3 patch grid): the same per token with one head shared by the
 *   tokens, plus the cell index, so every token carries its own cell (what the LMs read);
 * - `words` (any captioned data, e.g. real LLaVA captions): multi-label prediction of which
 *   caption words occur (sigmoid BCE).
 * Labels are built on the host; the head is a linear map of the flattened patch features.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COLOR_NAMES, readWorldScenes, SHAPES, SIZES } from '../data';
import type { EncodedSample } from '../data/encodedSample';

export interface VisionObjective {
  name: 'cells' | 'tokens' | 'words';
  /**
   * `flat`: one linear head over the flattened patch features [B, Np·d] (outDim outputs per
   * image); `token`: one linear head shared by every patch token [B·Np, d] (outDim outputs per
   * token), so each token must carry its own cell's attributes (and its cell index).
   */
  head: 'flat' | 'token';
  /** Head output width (per image for `flat`, per token for `token`). */
  outDim: number;
  /** Host labels of the samples at `idx` as a tensor the loss understands. */
  labels(idx: number[]): tf.Tensor2D;
  /** @param logits [B, outDim] (flat) or [B·Np, outDim] (token) @param labels from labels() @returns scalar */
  loss(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar;
}

/** Cross-entropy of softmax groups laid side by side in the last axis, averaged over rows and groups. */
function groupedCe(logits: tf.Tensor2D, labels: tf.Tensor2D, groups: number[]): tf.Scalar {
  const rows = logits.shape[0];
  const parts = tf.split(logits, groups, 1).map((p) => tf.logSoftmax(p));
  return tf.div(tf.neg(tf.sum(tf.mul(tf.concat(parts, 1), labels))), rows * groups.length) as tf.Scalar;
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
    head: 'flat',
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
      return groupedCe(logits.reshape([B * 9, PER_CELL]) as tf.Tensor2D, labels.reshape([B * 9, PER_CELL]) as tf.Tensor2D, GROUPS);
    },
  };
}

/**
 * Per-token cell objective: one head shared by the 9 patch tokens (one token per grid cell)
 * predicts that cell's colour, shape and size (each with a "none" class) and the cell's index.
 * Needs a 3×3 patch grid (vision.imageSize / vision.patchSize = 3).
 */
export function tokenObjective(worldDir: string, imageIds: (string | null)[]): VisionObjective | null {
  const cells = cellObjective(worldDir, imageIds);
  if (!cells) return null;
  const groups = [...GROUPS, 9];
  const outDim = PER_CELL + 9;
  return {
    name: 'tokens',
    head: 'token',
    outDim,
    labels(idx) {
      const flat = cells.labels(idx);
      const a = new Float32Array(idx.length * 9 * outDim);
      const src = flat.dataSync();
      flat.dispose();
      for (let r = 0; r < idx.length * 9; r++) {
        a.set(src.subarray(r * PER_CELL, (r + 1) * PER_CELL), r * outDim);
        a[r * outDim + PER_CELL + (r % 9)] = 1;
      }
      return tf.tensor2d(a, [idx.length * 9, outDim]);
    },
    loss: (logits, labels) => groupedCe(logits, labels, groups),
  };
}

/** Caption-word objective: works on any captioned data. */
export function wordObjective(set: EncodedSample[], vocab: number, eosId: number): VisionObjective {
  return {
    name: 'words',
    head: 'flat',
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
