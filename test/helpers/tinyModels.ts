/**
 * Tiny teacher, student and vision encoder (the `tiny` preset's sizes, vocabulary 40) and a
 * synthetic encoded set for the teacher-output cache tests: most samples with one of a few
 * images, some text-only, label flags on the last three tokens; and the hooks those tests share.
 */
import { after, before } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/trainer/backend';
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

/** The models, a scratch folder and a set of the teacher-output cache tests, filled in by the hooks cacheFixture registers. */
export interface CacheFixture { vision: VisionEncoder; teacher: Mllm; student: Mllm; dir: string; set: EncodedSample[] }

/**
 * Registers the hooks of a teacher-output cache test file: before, the wasm backend, the tiny
 * models, a temporary folder (`prefix`) and `makeSet()`; after, the models disposed and the folder
 * removed. The returned object is filled in when the tests run.
 */
export function cacheFixture(prefix: string, makeSet: () => EncodedSample[]): CacheFixture {
  const fx = {} as CacheFixture;
  let models: ReturnType<typeof tinyModels> | undefined;
  before(async () => {
    await initBackend('wasm');
    models = tinyModels();
    Object.assign(fx, { vision: models.vision, teacher: models.teacher, student: models.student, dir: fs.mkdtempSync(path.join(os.tmpdir(), prefix)), set: makeSet() });
  });
  after(() => {
    models?.dispose();
    if (fx.dir) fs.rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}
