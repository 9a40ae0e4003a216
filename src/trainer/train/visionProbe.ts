/**
 * Linear probe of the frozen vision encoder on the built-in world: a softmax-regression head per
 * attribute (colour, shape, size) is fitted on the feature-layer tokens of train images (one
 * token per grid cell) and scored on the occupied cells of the val images. Tells whether the
 * features the projectors read carry each cell's attributes in that cell's own token.
 */
import * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import { COLOR_NAMES, readWorldScenes, SHAPES, SIZES } from '../data';
import type { LlavaSample } from '../data/llava';
import type { VisionEncoder } from '../models/vision';
import { matMul2d } from '../nn/ops';

export interface ProbeResult {
  /** Accuracy per attribute on the occupied val cells. */
  byAttribute: { color: number; shape: number; size: number };
  trainImages: number;
  valCells: number;
}

const ATTRS = [COLOR_NAMES as readonly string[], SHAPES as readonly string[], SIZES as readonly string[]];

/**
 * @param patchesOf patches [Np·patchDim] of an image sample
 * @returns null when the data is not the world or the patch grid is not the 3×3 cell grid
 */
export function probeVision(vision: VisionEncoder, worldDir: string, train: LlavaSample[], val: LlavaSample[], patchesOf: (s: LlavaSample) => Float32Array | undefined, maxTrain = 2000): ProbeResult | null {
  const np = (vision.cfg.imageSize / vision.cfg.patchSize) ** 2;
  if (np !== 9) return null;
  const scenes = readWorldScenes(worldDir);
  const byId = new Map([...scenes.train, ...scenes.val].map((s) => [s.id, s]));
  const unique = (xs: LlavaSample[]) => [...new Map(xs.filter((s) => s.image).map((s) => [s.image!, s])).values()];
  const rows = (samples: LlavaSample[]) => {
    const patches: Float32Array[] = [];
    const labels: number[][] = [[], [], []];
    for (const s of samples) {
      const scene = byId.get(basename(s.image!).replace(/\.[a-z]+$/i, ''));
      const p = patchesOf(s);
      if (!scene || !p) continue;
      patches.push(p);
      for (let c = 0; c < 9; c++) {
        const o = scene.objects.find((x) => x.cell === c);
        labels[0].push(o ? COLOR_NAMES.indexOf(o.color) + 1 : 0);
        labels[1].push(o ? SHAPES.indexOf(o.shape) + 1 : 0);
        labels[2].push(o ? SIZES.indexOf(o.size) + 1 : 0);
      }
    }
    return { patches, labels };
  };
  const tr = rows(unique(train).slice(0, maxTrain));
  const va = rows(unique(val));
  if (!tr.patches.length || !va.patches.length) return null;
  const feats = (ps: Float32Array[]): tf.Tensor2D => tf.tidy(() => {
    const out: tf.Tensor[] = [];
    for (let i = 0; i < ps.length; i += 256) {
      const chunk = ps.slice(i, i + 256);
      const x = tf.tensor3d(Float32Array.from(chunk.flatMap((p) => Array.from(p))), [chunk.length, 9, ps[0].length / 9]);
      out.push(vision.forward(x).reshape([chunk.length * 9, vision.cfg.dim]));
    }
    return tf.concat(out) as tf.Tensor2D;
  });
  const ftr = feats(tr.patches);
  const fva = feats(va.patches);
  const occupied = va.labels[0].map((c) => c > 0);
  const acc: number[] = [];
  for (let a = 0; a < 3; a++) {
    const k = ATTRS[a].length + 1;
    const w = tf.variable(tf.zeros([vision.cfg.dim, k]));
    const b = tf.variable(tf.zeros([k]));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(tr.labels[a], 'int32'), k), 'float32'));
    const opt = tf.train.adam(0.02);
    for (let it = 0; it < 300; it++) {
      tf.tidy(() => {
        opt.minimize(() => tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.add(matMul2d(ftr, w as tf.Tensor2D), b)), y), 1))) as tf.Scalar, false, [w, b]);
      });
    }
    // Read after the tidy: a typed array returned from tf.tidy is walked element by element as a tensor container.
    const predT = tf.tidy(() => tf.argMax(tf.add(matMul2d(fva, w as tf.Tensor2D), b), 1));
    const pred = predT.dataSync() as Int32Array;
    predT.dispose();
    let hit = 0;
    let n = 0;
    pred.forEach((p, i) => {
      if (!occupied[i]) return;
      n++;
      if (p === va.labels[a][i]) hit++;
    });
    acc.push(n ? hit / n : 0);
    tf.dispose([w, b, y]);
    opt.dispose();
  }
  tf.dispose([ftr, fva]);
  return { byAttribute: { color: acc[0], shape: acc[1], size: acc[2] }, trainImages: tr.patches.length, valCells: occupied.filter(Boolean).length };
}
