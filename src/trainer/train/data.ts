/**
 * Everything a pipeline needs from the data: the tokenizer, the four LLaVA-format splits (built-in
 * world generated on first use, or the user's files), encoded training sets and a decoded-image
 * patch cache. One loader serves the world and real LLaVA-format data.
 */
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { cellObjective, tokenObjective, wordObjective, type VisionObjective } from './visionObjective';
import type { ExperimentConfig } from '../config/types';
import { generateWorld, KdTokenizer, loadImage, loadLlavaFile, type LlavaSample } from '../data';
import { encodeCaption, encodeConversation, encodeText, patchify, type EncodeOptions } from '../data/encode';
import type { EncodedSample } from '../data/encodedSample';
import { numPatches, patchDim } from '../models/vision';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../data/imageHeader';

export interface DataBundle {
  tokenizer: KdTokenizer;
  captions: LlavaSample[];
  instructions: LlavaSample[];
  val: LlavaSample[];
  test: LlavaSample[];
  np: number;
  patchDim: number;
  encodeOptions: EncodeOptions;
  /** Encoded training sets, built on first use. */
  encoded(kind: 'captions' | 'instructions' | 'text'): EncodedSample[];
  /** Adds image patches to an encoded sample of `s` (cached per image path). */
  withPatches(e: EncodedSample, s: LlavaSample): EncodedSample;
  /** Objective of the vision pre-training stage over encoded('captions'). */
  visionObjective(): VisionObjective;
  /** Paths of the data files, for the log. */
  files: Record<string, string>;
}

/**
 * Adds the image of `s` to its encoded sample: `patches` is decoded and patchified on first read
 * (then cached per image path), so a stage decodes only the images its sampler draws (a 400-step
 * stage of batch 16 reads at most 6400 of the world's 30 000) and memory holds only those.
 */
export function patchAttacher(cfg: Pick<ExperimentConfig, 'vision' | 'data'>): (e: EncodedSample, s: LlavaSample) => EncodedSample {
  const cache = new Map<string, Float32Array>();
  const { imageSize, patchSize } = cfg.vision;
  // Checkpoints written before the field existed carry no limit: the default.
  const maxPixels = cfg.data.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  return (e, s) => {
    if (e.visualStart < 0 || !s.image) return e;
    const path = s.image;
    const out: EncodedSample = { ...e };
    Object.defineProperty(out, 'patches', {
      enumerable: true,
      configurable: true,
      get(): Float32Array {
        let p = cache.get(path);
        if (!p) {
          try {
            p = patchify(loadImage(path, imageSize, maxPixels), imageSize, patchSize);
          } catch (err) {
            throw new Error(`image of sample ${s.id}: ${(err as Error).message}`);
          }
          cache.set(path, p);
        }
        Object.defineProperty(out, 'patches', { value: p, enumerable: true, writable: false, configurable: false });
        return p;
      },
    });
    return out;
  };
}

/** Resolves a path of the config relative to the experiment file's folder. */
export function resolveDataPath(experimentFile: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(experimentFile), p);
}

export function loadData(cfg: ExperimentConfig, experimentFile: string, log: (m: string) => void): DataBundle {
  const d = cfg.data;
  let files: Record<string, string>;
  if (d.source === 'world') {
    const dir = resolveDataPath(experimentFile, d.worldDir);
    const t0 = Date.now();
    generateWorld(d.world, dir, { extraTexts: d.systemPrompt ? [d.systemPrompt] : [] });
    log(`world ready in ${dir} (${Date.now() - t0} ms)`);
    files = {
      captions: resolve(dir, 'captions.json'),
      instructions: resolve(dir, 'instruct.json'),
      val: resolve(dir, 'val.json'),
      test: resolve(dir, 'test.json'),
      tokenizer: resolve(dir, 'tokenizer.json'),
      imageFolder: dir,
    };
  } else {
    files = {
      captions: resolveDataPath(experimentFile, d.captions),
      instructions: resolveDataPath(experimentFile, d.instructions),
      val: resolveDataPath(experimentFile, d.val),
      test: resolveDataPath(experimentFile, d.test),
      tokenizer: resolveDataPath(experimentFile, d.tokenizer),
      imageFolder: resolveDataPath(experimentFile, d.imageFolder),
    };
  }
  const tokenizer = KdTokenizer.fromFile(files.tokenizer);
  // The world's images were written by this program: existence only; user data: the full check.
  const load = (f: string) => loadLlavaFile(f, files.imageFolder, { checkImages: d.source === 'world' ? 'exists' : 'header', maxPixels: d.maxImagePixels });
  const captions = load(files.captions);
  const instructions = load(files.instructions);
  const val = load(files.val);
  const test = load(files.test);
  const np = numPatches(cfg.vision);
  const pd = patchDim(cfg.vision);
  const encodeOptions: EncodeOptions = { tokenizer, np, maxLength: d.maxLength, systemPrompt: d.systemPrompt };
  const withPatches = patchAttacher(cfg);
  const cache = new Map<string, EncodedSample[]>();
  const encoded = (kind: 'captions' | 'instructions' | 'text'): EncodedSample[] => {
    let out = cache.get(kind);
    if (!out) {
      if (kind === 'captions') out = captions.map((s) => withPatches(encodeCaption(s, encodeOptions), s));
      else if (kind === 'instructions') out = instructions.map((s) => withPatches(encodeConversation(s, encodeOptions), s));
      else out = textCorpus(captions, instructions, encodeOptions);
      cache.set(kind, out);
    }
    return out;
  };
  const visionObjective = (): VisionObjective => {
    const set = encoded('captions');
    const ids = captions.map((s) => (s.image ? basename(s.image).replace(/\.[a-z]+$/i, '') : null));
    const grid3 = cfg.vision.imageSize / cfg.vision.patchSize === 3;
    const world = d.source !== 'world' ? null
      : cfg.vision.pretrainHead === 'token' && grid3 ? tokenObjective(files.imageFolder, ids) : cellObjective(files.imageFolder, ids);
    return world ?? wordObjective(set, tokenizer.vocabSize, tokenizer.eosId);
  };
  return { tokenizer, captions, instructions, val, test, np, patchDim: pd, encodeOptions, encoded, withPatches, visionObjective, files };
}

/**
 * Text-only corpus for LM pre-training: every caption, and every conversation preceded by the
 * caption of its image when there is one ("<caption> USER: q ASSISTANT: a"). The second kind
 * teaches the LM to answer from a scene description in its context: the skill the projector
 * later plugs the image into (a pretrained LLM brings this from its web-scale pre-training).
 */
function textCorpus(captions: LlavaSample[], instructions: LlavaSample[], o: EncodeOptions): EncodedSample[] {
  const out: EncodedSample[] = [];
  const captionOf = new Map<string, string>();
  for (const s of captions) {
    const cap = s.conversations.find((c) => c.from === 'gpt')?.value;
    if (!cap) continue;
    if (s.image) captionOf.set(s.image, cap);
    out.push(encodeText(s.id, cap, o));
  }
  for (const s of instructions) {
    const turns = s.conversations.map((c) => (c.from === 'human' ? 'USER: ' : 'ASSISTANT: ') + c.value.replace('<image>', '').trim());
    const context = s.image ? captionOf.get(s.image) : undefined;
    out.push(encodeText(s.id, [...(context ? [context] : []), ...turns].join(' '), o));
  }
  return out;
}
