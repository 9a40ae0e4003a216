/**
 * Tiny teacher, student and vision encoder (the `tiny` preset's sizes, vocabulary 40) and a
 * synthetic encoded set for the teacher-output cache tests: most samples with one of a few
 * images, some text-only, label flags on the last three tokens.
 */
import { presetConfig } from '../../src/trainer/config';
import type { EncodedSample } from '../../src/trainer/data/encodedSample';
import { Mllm } from '../../src/trainer/models/mllm';
import { numPatches, patchDim, VisionEncoder } from '../../src/trainer/models/vision';
import { mulberry32 } from '../../src/common/random';

export const cfg = presetConfig('tiny');
export const V = 40;
export const np = numPatches(cfg.vision);
export const pd = patchDim(cfg.vision);

export function tinyModels(): { vision: VisionEncoder; teacher: Mllm; student: Mllm; dispose(): void } {
  const vision = new VisionEncoder(cfg.vision, 1);
  const teacher = new Mllm(cfg.teacher, cfg.vision.dim, V, 2);
  const student = new Mllm(cfg.student, cfg.vision.dim, V, 3);
  return { vision, teacher, student, dispose: () => { vision.params.dispose(); teacher.dispose(); student.dispose(); } };
}

/**
 * @param n samples  @param images distinct images  @param textEvery every this-many-th sample (offset `textAt`) has no image
 */
export function syntheticSet(seed: number, n: number, images: number, textEvery: number, textAt: number, maxExtra: number): EncodedSample[] {
  const r = mulberry32(seed);
  const imgs = Array.from({ length: images }, () => Float32Array.from({ length: np * pd }, () => r()));
  return Array.from({ length: n }, (_, i) => {
    const withImage = i % textEvery !== textAt;
    const len = 4 + Math.floor(r() * maxExtra);
    const text = Array.from({ length: len }, () => 1 + Math.floor(r() * (V - 1)));
    const tokens = withImage ? [text[0], ...new Array(np).fill(0), ...text.slice(1)] : text;
    const isLabel = Uint8Array.from(tokens, (_, j) => (j >= tokens.length - 3 ? 1 : 0));
    return { id: `s${i}`, tokens, visualStart: withImage ? 1 : -1, isLabel, ...(withImage ? { patches: imgs[i % images] } : {}) };
  });
}
