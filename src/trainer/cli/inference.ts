/**
 * `eval` and `ask`: load a final checkpoint (self-contained: vision + projector + LM + config)
 * and answer questions with greedy decoding.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { initBackend } from '../backend';
import type { BackendName } from '../config/types';
import { KdTokenizer, loadLlavaFile, type LlavaSample } from '../data';
import { Mllm } from '../models/mllm';
import { VisionEncoder, numPatches, patchDim } from '../models/vision';
import { loadCheckpoint } from '../io/checkpoint';
import { patchAttacher, resolveDataPath, type DataBundle } from '../train/data';
import { evaluate, generateAnswers } from '../train/evaluate';
import { InputError } from './runCommand';
import { checkImageHeader, DEFAULT_MAX_IMAGE_PIXELS } from '../data/imageHeader';
import { decodeImage } from '../data/image';

function loadModel(checkpoint: string, tokenizerPath?: string) {
  const path = resolve(checkpoint);
  if (!existsSync(path)) throw new InputError(`${path}: checkpoint not found`);
  let ck;
  try {
    ck = loadCheckpoint(path);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const cfg = ck.meta.config;
  if (ck.meta.track === 'vision') throw new InputError(`${path}: a vision-encoder checkpoint cannot answer questions; use a teacher/baseline/kd checkpoint`);
  const tokFile = tokenizerPath ? resolve(tokenizerPath)
    : cfg.data.source === 'world' ? resolveDataPath(ck.meta.experimentFile ?? path, `${cfg.data.worldDir}/tokenizer.json`)
      : resolveDataPath(ck.meta.experimentFile ?? path, cfg.data.tokenizer);
  const tokenizer = KdTokenizer.fromFile(tokFile);
  const vision = new VisionEncoder(cfg.vision, 0);
  vision.params.load(ck.group('vision.'), path);
  const model = new Mllm(ck.meta.track === 'teacher' ? cfg.teacher : cfg.student, cfg.vision.dim, tokenizer.vocabSize, 0);
  model.params.load(ck.tensors, path);
  const data = {
    tokenizer, np: numPatches(cfg.vision), patchDim: patchDim(cfg.vision),
    encodeOptions: { tokenizer, np: numPatches(cfg.vision), maxLength: cfg.data.maxLength, systemPrompt: cfg.data.systemPrompt },
    withPatches: patchAttacher(cfg),
  } as Pick<DataBundle, 'tokenizer' | 'np' | 'patchDim' | 'encodeOptions' | 'withPatches'> as DataBundle;
  return { ck, cfg, vision, model, data };
}

export async function evalCommand(checkpoint: string, dataFile: string, opts: { imageFolder?: string; tokenizer?: string; backend: BackendName; json: boolean }): Promise<number> {
  await initBackend(opts.backend); // before loadModel: tensors must be created on the chosen backend
  const { vision, model, data, cfg, ck } = loadModel(checkpoint, opts.tokenizer);
  const file = resolve(dataFile);
  let samples: LlavaSample[];
  try {
    samples = loadLlavaFile(file, opts.imageFolder ? resolve(opts.imageFolder) : resolve(file, '..'), { maxPixels: cfg.data.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS });
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const r = evaluate(model, vision, data, samples, cfg.eval.maxNewTokens);
  const result = { checkpoint: resolve(checkpoint), track: ck.meta.track, data: file, accuracy: r.accuracy, byType: r.byType, n: r.n };
  if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`accuracy ${(r.accuracy * 100).toFixed(1)}% on ${r.n} questions (${ck.meta.track}, ${ck.meta.stage})\n`);
    for (const [t, a] of Object.entries(r.byType)) process.stdout.write(`  ${t.padEnd(10)} ${(a * 100).toFixed(1)}%\n`);
  }
  return 0;
}

export async function askCommand(checkpoint: string, image: string, question: string, opts: { tokenizer?: string; backend: BackendName }): Promise<number> {
  await initBackend(opts.backend); // before loadModel: tensors must be created on the chosen backend
  const { vision, model, data, cfg } = loadModel(checkpoint, opts.tokenizer);
  const img = resolve(image);
  if (!existsSync(img)) throw new InputError(`${img}: image not found`);
  try {
    checkImageHeader(img, cfg.data.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS);
    decodeImage(img);
  } catch (e) {
    throw new InputError(`--image: ${(e as Error).message}`);
  }
  const sample: LlavaSample = { id: 'ask', image: img, conversations: [{ from: 'human', value: `<image>\n${question}` }, { from: 'gpt', value: '' }] };
  const [answer] = generateAnswers(model, vision, data, [sample], Math.max(cfg.eval.maxNewTokens, 16));
  process.stdout.write(answer + '\n');
  return 0;
}
