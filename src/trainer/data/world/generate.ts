/**
 * The procedural image-text world: scenes per split, captions, instruction conversations,
 * val/test questions, PNG images and a word-level tokenizer, written in LLaVA format to a folder.
 * Deterministic: the same WorldConfig gives byte-identical files. `generateWorld` is idempotent
 * and atomic (written to a temp folder, then renamed into place); concurrent callers on one folder
 * take turns through its lock file (`.<name>.lock` beside it), so only one writes it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { releaseLock, sleepMs, takeLock } from '../../io/lockFile';
import type { WorldConfig } from '../../config/types';
import type { LlavaRecord, LlavaTurn } from '../llava';
import { Rng } from './prng';
import { renderScene } from './render';
import { allCombos, chooseHeldOut, comboKey, sampleScene, type Combo, type Scene } from './scene';
import { balancedQuestions, caption, QUESTION_TYPES, type Question, type QuestionType } from './text';
import { buildTokenizerJson, TOKENIZER_CONFIG } from './tokenizerJson';
import { CELL_NAMES, COLOR_NAMES, SHAPES, SIZES, TEMPLATE_TEXTS } from './vocab';

/** Bump when the generator's output changes for the same config. */
export const WORLD_GENERATOR_VERSION = 1;

/** Number of (colour, shape) combos held out of training when `holdOutCombos` is on. */
export const HELD_OUT_COUNT = 4;
/** Single-turn conversations per train image (plus one multi-turn conversation). */
export const SINGLE_TURN_PER_TRAIN_IMAGE = 2;
/** Questions per val/test image. */
export const QUESTIONS_PER_EVAL_IMAGE = 2;

export const WORLD_FILES = {
  meta: 'world-meta.json',
  captions: 'captions.json',
  instruct: 'instruct.json',
  val: 'val.json',
  test: 'test.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  scenes: 'scenes.json',
  images: 'images',
} as const;

export type Split = Scene['split'];
const SPLITS: Split[] = ['train', 'val', 'test'];

export interface WorldScenes {
  heldOut: Combo[];
  train: Scene[];
  val: Scene[];
  test: Scene[];
}

export interface WorldRecords {
  captions: LlavaRecord[];
  instruct: LlavaRecord[];
  val: LlavaRecord[];
  test: LlavaRecord[];
}

export interface SplitCounts {
  images: number;
  /** Records (conversations) per file. */
  records: number;
  /** Question-answer turns (a multi-turn record counts each turn). */
  turns: number;
  /** Records per `type` field. */
  byType: Record<string, number>;
  /** Records flagged `heldOut`. */
  heldOut: number;
}

export interface WorldMeta {
  generator: 'llava-kd-world';
  version: number;
  config: WorldConfig;
  extraTexts: string[];
  files: typeof WORLD_FILES;
  heldOutCombos: Combo[];
  counts: { captions: SplitCounts; instruct: SplitCounts; val: SplitCounts; test: SplitCounts };
  vocabSize: number;
  vocabulary: { shapes: readonly string[]; colors: readonly string[]; sizes: readonly string[]; positions: readonly string[] };
}

export interface GenerateOptions {
  /** Texts added to the tokenizer vocabulary (e.g. the system prompt). TEMPLATE_TEXTS are always added. */
  extraTexts?: string[];
}

/** Throws a clear error naming the `data.world.*` field when the config is invalid. */
export function validateWorldConfig(cfg: WorldConfig): void {
  const int = (name: keyof WorldConfig, lo: number, hi: number): void => {
    const v = cfg[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new Error(`data.world.${name} must be an integer in ${lo}..${hi}, found ${JSON.stringify(v)}`);
    }
  };
  int('seed', -2147483648, 4294967295);
  int('imageSize', 12, 1024);
  int('trainImages', 1, 1_000_000);
  int('valImages', 0, 1_000_000);
  int('testImages', 0, 1_000_000);
  int('maxObjects', 1, 4);
  if (typeof cfg.holdOutCombos !== 'boolean') {
    throw new Error(`data.world.holdOutCombos must be true or false, found ${JSON.stringify(cfg.holdOutCombos)}`);
  }
}

/** 32-bit seed from the world seed and a salt: FNV-1a of `seed:salt`, then a murmur3 finaliser. */
function hashSeed(seed: number, salt: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${salt}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The generator's Rng for one purpose (`scene`, `text`, `render`) of one image id. */
export function worldRng(cfg: WorldConfig, purpose: string, id: string): Rng {
  return new Rng(hashSeed(cfg.seed, `${purpose}:${id}`));
}

const imageId = (split: Split, i: number): string => `${split}-${String(i).padStart(6, '0')}`;

/** Path of an image relative to the world folder. */
export const imagePath = (scene: Scene): string => `${WORLD_FILES.images}/${scene.split}/${scene.id}.png`;

/**
 * All scenes of the world. Train scenes never contain a held-out combo; every third val/test
 * image contains one (cycling through them), the rest draw from all combos.
 */
export function generateScenes(cfg: WorldConfig): WorldScenes {
  validateWorldConfig(cfg);
  const heldOut = cfg.holdOutCombos ? chooseHeldOut(new Rng(hashSeed(cfg.seed, 'heldout')), HELD_OUT_COUNT) : [];
  const held = new Set(heldOut.map(comboKey));
  const all = allCombos();
  const trainCombos = all.filter((c) => !held.has(comboKey(c)));
  const make = (split: Split, n: number): Scene[] =>
    Array.from({ length: n }, (_, i) => {
      const id = imageId(split, i);
      const forced = split !== 'train' && heldOut.length > 0 && i % 3 === 0 ? heldOut[(i / 3) % heldOut.length] : undefined;
      return sampleScene(worldRng(cfg, 'scene', id), id, split, cfg.imageSize, cfg.maxObjects, split === 'train' ? trainCombos : all, forced);
    });
  return { heldOut, train: make('train', cfg.trainImages), val: make('val', cfg.valImages), test: make('test', cfg.testImages) };
}

/** RGB bytes (HWC, length imageSize^2*3) of one scene. */
export function renderWorldImage(cfg: WorldConfig, scene: Scene): Uint8Array {
  return renderScene(scene, cfg.imageSize, worldRng(cfg, 'render', scene.id));
}

const zeroCounts = (): Record<QuestionType, number> =>
  Object.fromEntries(QUESTION_TYPES.map((t) => [t, 0])) as Record<QuestionType, number>;

function isHeldOut(q: Question, held: ReadonlySet<string>): boolean {
  return q.refs.some((o) => held.has(comboKey(o))) || q.mentions.some((c) => held.has(comboKey(c)));
}

function conversation(qs: Question[]): LlavaTurn[] {
  return qs.flatMap((q, i): LlavaTurn[] => [
    { from: 'human', value: i === 0 ? `<image>\n${q.question}` : q.question },
    { from: 'gpt', value: q.answer },
  ]);
}

/** Caption, instruction and val/test records of the scenes. */
export function buildRecords(cfg: WorldConfig, scenes: WorldScenes): WorldRecords {
  const held = new Set(scenes.heldOut.map(comboKey));
  const trainCtx = { forbiddenCombos: held };
  const evalCtx = { forbiddenCombos: new Set<string>() };
  const captions: LlavaRecord[] = scenes.train.map((s) => ({
    id: `${s.id}-cap`,
    image: imagePath(s),
    type: 'caption',
    conversations: [
      { from: 'human', value: '<image>' },
      { from: 'gpt', value: caption(s) },
    ],
  }));
  const instruct: LlavaRecord[] = [];
  const trainCounts = zeroCounts();
  const multiCounts = zeroCounts();
  for (const s of scenes.train) {
    const rng = worldRng(cfg, 'text', s.id);
    balancedQuestions(rng, s, SINGLE_TURN_PER_TRAIN_IMAGE, trainCounts, trainCtx).forEach((q, j) => {
      instruct.push({ id: `${s.id}-q${j}`, image: imagePath(s), type: q.type, conversations: conversation([q]) });
    });
    const multi = balancedQuestions(rng, s, rng.int(2, 3), multiCounts, trainCtx);
    if (multi.length >= 2) instruct.push({ id: `${s.id}-multi`, image: imagePath(s), type: 'multi', conversations: conversation(multi) });
  }
  const evalRecords = (list: Scene[]): LlavaRecord[] => {
    const counts = zeroCounts();
    return list.flatMap((s) => {
      const rng = worldRng(cfg, 'text', s.id);
      return balancedQuestions(rng, s, QUESTIONS_PER_EVAL_IMAGE, counts, evalCtx).map((q, j) => ({
        id: `${s.id}-q${j}`,
        image: imagePath(s),
        type: q.type,
        heldOut: isHeldOut(q, held),
        conversations: conversation([q]),
      }));
    });
  };
  return { captions, instruct, val: evalRecords(scenes.val), test: evalRecords(scenes.test) };
}

/** Every text of the records (for the vocabulary). */
export function recordTexts(records: WorldRecords): string[] {
  return [records.captions, records.instruct, records.val, records.test].flatMap((rs) => rs.flatMap((r) => r.conversations.map((t) => t.value)));
}

function countRecords(records: LlavaRecord[], images: number): SplitCounts {
  const byType: Record<string, number> = {};
  let turns = 0;
  let heldOut = 0;
  for (const r of records) {
    const t = r.type ?? 'untyped';
    byType[t] = (byType[t] ?? 0) + 1;
    turns += r.conversations.length / 2;
    if (r.heldOut) heldOut++;
  }
  return { images, records: records.length, turns, byType, heldOut };
}

/** Canonical copy of the config (fixed key order) for the meta file and comparisons. */
function canonicalConfig(cfg: WorldConfig): WorldConfig {
  const { seed, imageSize, trainImages, valImages, testImages, maxObjects, holdOutCombos } = cfg;
  return { seed, imageSize, trainImages, valImages, testImages, maxObjects, holdOutCombos };
}

const jsonArray = (rs: unknown[]): string => (rs.length === 0 ? '[]\n' : `[\n${rs.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`);

function encodePng(rgb: Uint8Array, size: number): Buffer {
  const png = new PNG({ width: size, height: size, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  // One filter (Paeth) instead of pngjs' per-row trial of all five: about the same size, a third faster.
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, filterType: 4 });
}

/** Reads `world-meta.json` of `dir`, or null when absent or unreadable. */
export function readWorldMeta(dir: string): WorldMeta | null {
  try {
    return JSON.parse(readFileSync(join(dir, WORLD_FILES.meta), 'utf8')) as WorldMeta;
  } catch {
    return null;
  }
}

function metaMatches(meta: WorldMeta | null, cfg: WorldConfig, extraTexts: string[], dir: string): meta is WorldMeta {
  if (!meta || meta.generator !== 'llava-kd-world' || meta.version !== WORLD_GENERATOR_VERSION) return false;
  if (JSON.stringify(canonicalConfig(meta.config)) !== JSON.stringify(canonicalConfig(cfg))) return false;
  if (JSON.stringify(meta.extraTexts ?? []) !== JSON.stringify(extraTexts)) return false;
  return Object.values(WORLD_FILES).every((f) => existsSync(join(dir, f)));
}

/**
 * Writes the world for `cfg` to `outDir` (captions.json, instruct.json, val.json, test.json,
 * tokenizer.json, tokenizer_config.json, scenes.json, images/<split>/<id>.png, world-meta.json)
 * and returns its meta. Does nothing when `outDir` already holds this world. The folder is
 * built next to `outDir` and renamed into place; an existing `outDir` is replaced only when it
 * is empty or holds a world (has world-meta.json).
 */
export function generateWorld(cfg: WorldConfig, outDir: string, options: GenerateOptions = {}): WorldMeta {
  validateWorldConfig(cfg);
  const dir = resolve(outDir);
  const extraTexts = options.extraTexts ?? [];
  const existing = readWorldMeta(dir);
  if (metaMatches(existing, cfg, extraTexts, dir)) return existing;
  // Concurrent runs of one experiment (a sweep's points) need the same world: one writes it, the
  // others wait for its lock and then find it in place. Without the lock a second writer would
  // swap the folder out from under the first one's reads.
  mkdirSync(dirname(dir), { recursive: true });
  const lock = join(dirname(dir), `.${basename(dir)}.lock`);
  while (!takeLock(lock)) sleepMs(100);
  try {
    const now = readWorldMeta(dir);
    if (metaMatches(now, cfg, extraTexts, dir)) return now;
    return writeWorld(cfg, dir, extraTexts);
  } finally {
    releaseLock(lock);
  }
}

/** Writes the world of `cfg` to `dir` (a temp folder renamed into place); the caller holds the folder's lock. */
function writeWorld(cfg: WorldConfig, dir: string, extraTexts: string[]): WorldMeta {
  if (existsSync(dir) && !existsSync(join(dir, WORLD_FILES.meta)) && readdirSync(dir).length > 0) {
    throw new Error(`${dir}: folder exists and is not a generated world (no ${WORLD_FILES.meta}); refusing to overwrite it. Choose another data.worldDir or empty the folder.`);
  }

  const scenes = generateScenes(cfg);
  const records = buildRecords(cfg, scenes);
  const tokenizer = buildTokenizerJson([...TEMPLATE_TEXTS, ...extraTexts, ...recordTexts(records)]);
  const vocab = (tokenizer.model as { vocab: Record<string, number> }).vocab;
  const meta: WorldMeta = {
    generator: 'llava-kd-world',
    version: WORLD_GENERATOR_VERSION,
    config: canonicalConfig(cfg),
    extraTexts,
    files: WORLD_FILES,
    heldOutCombos: scenes.heldOut,
    counts: {
      captions: countRecords(records.captions, scenes.train.length),
      instruct: countRecords(records.instruct, scenes.train.length),
      val: countRecords(records.val, scenes.val.length),
      test: countRecords(records.test, scenes.test.length),
    },
    vocabSize: Object.keys(vocab).length,
    vocabulary: { shapes: SHAPES, colors: COLOR_NAMES, sizes: SIZES, positions: CELL_NAMES },
  };

  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(tmp);
    for (const split of SPLITS) {
      const sub = join(tmp, WORLD_FILES.images, split);
      mkdirSync(sub, { recursive: true });
      for (const s of scenes[split]) writeFileSync(join(sub, `${s.id}.png`), encodePng(renderWorldImage(cfg, s), cfg.imageSize));
    }
    writeFileSync(join(tmp, WORLD_FILES.captions), jsonArray(records.captions));
    writeFileSync(join(tmp, WORLD_FILES.instruct), jsonArray(records.instruct));
    writeFileSync(join(tmp, WORLD_FILES.val), jsonArray(records.val));
    writeFileSync(join(tmp, WORLD_FILES.test), jsonArray(records.test));
    writeFileSync(join(tmp, WORLD_FILES.tokenizer), JSON.stringify(tokenizer, null, 1) + '\n');
    writeFileSync(join(tmp, WORLD_FILES.tokenizerConfig), JSON.stringify(TOKENIZER_CONFIG, null, 2) + '\n');
    writeFileSync(
      join(tmp, WORLD_FILES.scenes),
      `{"heldOut":${JSON.stringify(scenes.heldOut)},\n` +
        SPLITS.map((sp) => `"${sp}":${jsonArray(scenes[sp]).trimEnd()}`).join(',\n') +
        '}\n',
    );
    writeFileSync(join(tmp, WORLD_FILES.meta), JSON.stringify(meta, null, 2) + '\n');
    if (existsSync(dir)) {
      const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${Date.now()}`);
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return meta;
}

/** Reads scenes.json of a generated world (for tests, visualisation and eval breakdowns). */
export function readWorldScenes(dir: string): WorldScenes {
  return JSON.parse(readFileSync(join(dir, WORLD_FILES.scenes), 'utf8')) as WorldScenes;
}
