/**
 * The tokenised form of one sample, what the data layer produces (encode.ts) and the model's
 * batch builder (models/batch.ts) consumes: the data layer does not import the models.
 */

/** One tokenised sample: visual slots (Np of them per image) are marked, targets flagged. */
export interface EncodedSample {
  id: string;
  /** Token ids; visual slots hold the pad id. */
  tokens: number[];
  /** Index of the first of the Np visual slots, or -1 for a text-only sample. */
  visualStart: number;
  /** 1 where tokens[i] is a supervised label (caption / answer / eos), else 0. */
  isLabel: Uint8Array;
  /** Image patches [Np · patchDim] for samples with an image. */
  patches?: Float32Array;
}
