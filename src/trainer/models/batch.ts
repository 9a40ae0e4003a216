/**
 * Turns encoded samples into the index tensors one MLLM forward needs: token ids, the splice
 * map that places projected visual embeddings at their slots, shifted targets, and the masks of
 * the loss terms (response positions shifted, visual positions not).
 *
 * Two coordinate systems: flat positions b·L + i of the padded [B, L] grid (targets, masks,
 * targetPos, visualPos), and packed rows, the samples' real tokens one after another with no
 * padding (row seqStarts[b] + i), which is what the decoder computes on: at the default sizes
 * 40 % of the padded grid is padding, and every matMul of the decoder is linear in its rows.
 */
import * as tf from '@tensorflow/tfjs';
import type { EncodedSample } from '../data/encodedSample';

/** Index tensors of one batch. B samples padded to length L (N real tokens); Bi of them have an image. */
export interface Batch {
  B: number;
  L: number;
  /** Real tokens over the batch (Σ of the samples' lengths): the packed rows. */
  N: number;
  /** Packed row of the first token of each sample, then N: [B + 1] (host side). */
  seqStarts: number[];
  /** Number of samples with an image, and visual tokens per image. */
  Bi: number;
  Np: number;
  /** int32 [N] text token id of each packed row (pad at visual slots). */
  tokens: tf.Tensor1D;
  /** int32 [N] row of concat(textEmb [N], visEmb [Bi·Np]) that feeds each packed row. */
  srcIndex: tf.Tensor1D;
  /** int32 [B·L] packed row of each flat position, N (one past the last row) at padding. */
  unpack: tf.Tensor1D;
  /** float32 [Bi, Np, patchDim] or null when no sample has an image. */
  patches: tf.Tensor3D | null;
  /** int32 [Bi·Np] flat positions (b·L + i) of the visual slots, image by image. */
  visualPos: tf.Tensor1D | null;
  /** Number of response positions (targetMask = 1) over the batch. */
  Nt: number;
  /** int32 [Nt] flat positions (b·L + i) where targetMask = 1, sample by sample. */
  targetPos: tf.Tensor1D;
  /** int32 [Nt] the token each of those positions predicts. */
  targetIds: tf.Tensor1D;
  /** int32 [Nt + Bi·Np] the packed rows of targetPos then visualPos: every row a training loss reads. */
  lossRows: tf.Tensor1D;
  /** int32 [B, L]: at position i, the label token at i+1 (0 where none). */
  targets: tf.Tensor2D;
  /** float32 [B, L]: 1 where position i predicts a label (shifted response mask). */
  targetMask: tf.Tensor2D;
  /** float32 [B, L]: 1 at the visual slots themselves (unshifted). */
  visualMask: tf.Tensor2D;
  /** Plain copies used by tests and generation. */
  host: { targets: Int32Array; targetMask: Float32Array; visualMask: Float32Array; lengths: number[] };
}

/**
 * @param samples encoded samples (all images must have the same Np and patchDim)
 * @param np visual tokens per image
 * @param patchDim values per patch
 * @param padId pad token id
 */
export function buildBatch(samples: EncodedSample[], np: number, patchDim: number, padId: number): Batch {
  const B = samples.length;
  // Pad to a multiple of 8: few distinct shapes, so the per-length rotary/mask caches stay small.
  const L = Math.ceil(Math.max(...samples.map((s) => s.tokens.length)) / 8) * 8;
  const withImage = samples.filter((s) => s.visualStart >= 0);
  const Bi = withImage.length;
  const seqStarts = [0];
  for (const s of samples) seqStarts.push(seqStarts[seqStarts.length - 1] + s.tokens.length);
  const N = seqStarts[B];
  const rowOf = (b: number, i: number) => seqStarts[b] + i;
  const tokens = new Int32Array(N);
  const srcIndex = new Int32Array(N);
  const unpack = new Int32Array(B * L).fill(N);
  const targets = new Int32Array(B * L);
  const targetMask = new Float32Array(B * L);
  const visualMask = new Float32Array(B * L);
  const visualPos = new Int32Array(Bi * np);
  const patches = new Float32Array(Bi * np * patchDim);
  let k = 0;
  samples.forEach((s, b) => {
    const n = s.tokens.length;
    for (let i = 0; i < n; i++) {
      tokens[rowOf(b, i)] = s.tokens[i];
      srcIndex[rowOf(b, i)] = rowOf(b, i);
      unpack[b * L + i] = rowOf(b, i);
    }
    for (let i = 0; i + 1 < n; i++) {
      if (s.isLabel[i + 1]) {
        targets[b * L + i] = s.tokens[i + 1];
        targetMask[b * L + i] = 1;
      }
    }
    if (s.visualStart >= 0) {
      if (!s.patches || s.patches.length !== np * patchDim) {
        throw new Error(`sample ${s.id}: expected ${np}x${patchDim} image patch values, found ${s.patches?.length ?? 0}`);
      }
      patches.set(s.patches, k * np * patchDim);
      for (let j = 0; j < np; j++) {
        const pos = s.visualStart + j;
        tokens[rowOf(b, pos)] = padId;
        srcIndex[rowOf(b, pos)] = N + k * np + j;
        visualMask[b * L + pos] = 1;
        visualPos[k * np + j] = b * L + pos;
      }
      k++;
    }
  });
  const pos: number[] = [];
  for (let i = 0; i < B * L; i++) if (targetMask[i]) pos.push(i);
  return {
    B, L, N, seqStarts, Bi, Np: np, Nt: pos.length,
    targetPos: tf.tensor1d(pos, 'int32'),
    targetIds: tf.tensor1d(pos.map((i) => targets[i]), 'int32'),
    lossRows: tf.tensor1d([...pos, ...visualPos].map((i) => unpack[i]), 'int32'),
    tokens: tf.tensor1d(tokens, 'int32'),
    srcIndex: tf.tensor1d(srcIndex, 'int32'),
    unpack: tf.tensor1d(unpack, 'int32'),
    patches: Bi ? tf.tensor3d(patches, [Bi, np, patchDim]) : null,
    visualPos: Bi ? tf.tensor1d(visualPos, 'int32') : null,
    targets: tf.tensor2d(targets, [B, L], 'int32'),
    targetMask: tf.tensor2d(targetMask, [B, L]),
    visualMask: tf.tensor2d(visualMask, [B, L]),
    host: { targets, targetMask, visualMask, lengths: samples.map((s) => s.tokens.length) },
  };
}

/** Response rows of a sample: positions whose next token is a label (the rows buildBatch puts in targetPos). */
export function responseRows(s: EncodedSample): number {
  let n = 0;
  for (let i = 0; i + 1 < s.tokens.length; i++) if (s.isLabel[i + 1]) n++;
  return n;
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.tokens, b.srcIndex, b.unpack, b.targets, b.targetMask, b.visualMask, b.targetPos, b.targetIds, b.lossRows]);
  if (b.patches) b.patches.dispose();
  if (b.visualPos) b.visualPos.dispose();
}
