/**
 * Loader and validator of LLaVA-format conversation data: a JSON array file or JSONL (one
 * record per line) of `{id, image?, conversations: [{from: 'human'|'gpt', value}]}`, with
 * `<image>` in the first human turn when the record has an image. Errors name the file, the
 * record (and JSONL line), the field and what was expected.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { checkImageHeader, DEFAULT_MAX_IMAGE_PIXELS } from './imageHeader';
import { decodeImage } from './image';

export interface LlavaTurn {
  from: 'human' | 'gpt';
  value: string;
}

/** One record as stored in a LLaVA JSON file (`image` relative to the image folder). */
export interface LlavaRecord {
  id: string;
  image?: string;
  /** Question type (extra field written by the built-in world; optional elsewhere). */
  type?: string;
  /** True when the record concerns a held-out (colour, shape) combo (built-in world only). */
  heldOut?: boolean;
  conversations: LlavaTurn[];
}

/** A validated record, with `image` resolved to an absolute path. */
export interface LlavaSample {
  id: string;
  /** Absolute path of the image; absent for text-only samples. */
  image?: string;
  type?: string;
  heldOut?: boolean;
  conversations: LlavaTurn[];
}

export interface LoadLlavaOptions {
  /**
   * How referenced images are checked before anything is written: `header` (default: each
   * distinct image's path stays inside the image folder after resolving links, its header is a
   * PNG or JPEG within `maxPixels`, and the first `decodeSample` of them decode), `exists` (the
   * file exists: the built-in world, which this program wrote), or `false`.
   */
  checkImages?: 'header' | 'exists' | false;
  /** Pixel budget of one image (data.maxImagePixels). */
  maxPixels?: number;
  /** Images fully decoded at load (the first distinct ones of the file), default 8. */
  decodeSample?: number;
}

export const IMAGE_TOKEN = '<image>';

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

const countOf = (s: string, sub: string): number => s.split(sub).length - 1;

/** Validates one parsed record; `where` is the message prefix (`file: record i`). */
function validateRecord(rec: unknown, where: string): LlavaRecord {
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) fail(`must be an object, found ${show(rec)}`);
  const r = rec as Record<string, unknown>;
  let id: string;
  if (typeof r.id === 'string' && r.id.length > 0) id = r.id;
  else if (typeof r.id === 'number') id = String(r.id);
  else id = fail(`id must be a non-empty string, found ${show(r.id)}`);
  if (r.image !== undefined && (typeof r.image !== 'string' || r.image.length === 0)) {
    fail(`image must be a non-empty string (path relative to the image folder), found ${show(r.image)}`);
  }
  if (r.type !== undefined && typeof r.type !== 'string') fail(`type must be a string, found ${show(r.type)}`);
  if (r.heldOut !== undefined && typeof r.heldOut !== 'boolean') fail(`heldOut must be a boolean, found ${show(r.heldOut)}`);
  if (!Array.isArray(r.conversations)) fail(`conversations must be an array of {from, value}, found ${show(r.conversations)}`);
  const convs = r.conversations as unknown[];
  if (convs.length < 2) fail(`conversations must hold at least one human turn and one gpt turn, found ${convs.length} turn(s)`);
  if (convs.length % 2 !== 0) fail(`conversations must alternate human/gpt and end with a gpt turn, found ${convs.length} turns`);
  const turns: LlavaTurn[] = convs.map((t, i) => {
    const f = `conversations[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return fail(`${f} must be an object {from, value}, found ${show(t)}`);
    const tt = t as Record<string, unknown>;
    const want = i % 2 === 0 ? 'human' : 'gpt';
    if (tt.from !== want) fail(`${f}.from must be "${want}", found ${show(tt.from)}`);
    if (typeof tt.value !== 'string') fail(`${f}.value must be a string, found ${show(tt.value)}`);
    return { from: want, value: tt.value as string };
  });
  const hasImage = typeof r.image === 'string';
  turns.forEach((t, i) => {
    const n = countOf(t.value, IMAGE_TOKEN);
    if (hasImage && i === 0 && n !== 1) fail(`conversations[0].value must contain "${IMAGE_TOKEN}" exactly once (the record has an image), found ${n}`);
    if ((!hasImage || i > 0) && n > 0) {
      fail(`conversations[${i}].value must not contain "${IMAGE_TOKEN}" (${hasImage ? 'only the first human turn may' : 'the record has no image'})`);
    }
  });
  const out: LlavaRecord = { id, conversations: turns };
  if (hasImage) out.image = r.image as string;
  if (r.type !== undefined) out.type = r.type as string;
  if (r.heldOut !== undefined) out.heldOut = r.heldOut as boolean;
  return out;
}

/** Parses `text` (JSON array or JSONL) into validated records. `file` is used in messages. */
export function parseLlavaText(text: string, file: string): LlavaRecord[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  let isJsonl = file.toLowerCase().endsWith('.jsonl') || (trimmed.length > 0 && trimmed[0] !== '[');
  if (isJsonl && !file.toLowerCase().endsWith('.jsonl')) {
    // A .json file holding one JSON value that is not a record is a wrong format, not JSONL.
    try {
      const whole: unknown = JSON.parse(trimmed);
      if (typeof whole !== 'object' || whole === null || !('conversations' in whole)) isJsonl = false;
    } catch {
      // Not a single JSON value: JSONL (or broken; the line parser reports it).
    }
  }
  if (!isJsonl) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`${file}: invalid JSON (${(e as Error).message}); expected a JSON array of LLaVA records or JSONL`);
    }
    if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array of LLaVA records (or JSONL, one record per line), found ${data === null ? 'null' : typeof data}`);
    return data.map((rec, i) => validateRecord(rec, `${file}: record ${i}`));
  }
  const out: LlavaRecord[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim().length === 0) return;
    const where = `${file}: line ${i + 1} (record ${out.length})`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: invalid JSON (${(e as Error).message}); expected one LLaVA record per line`);
    }
    out.push(validateRecord(rec, where));
  });
  return out;
}

/**
 * Loads and validates a LLaVA JSON/JSONL file; image paths are resolved against `imageFolder`
 * and checked as `options.checkImages` says (by default: confined to the folder, a sound header
 * within the pixel budget, the first few decoded), every error naming the file, the record and
 * the field.
 */
export function loadLlavaFile(path: string, imageFolder: string, options: LoadLlavaOptions = {}): LlavaSample[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: file not found (expected a LLaVA JSON/JSONL file)` : code === 'EISDIR' ? `${path}: is a folder (expected a LLaVA JSON/JSONL file)` : `${path}: cannot read (${(e as Error).message})`);
  }
  const records = parseLlavaText(text, path);
  const mode = options.checkImages ?? 'header';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  let decodeLeft = options.decodeSample ?? 8;
  const checked = new Set<string>();
  let folderReal: string | undefined;
  return records.map((rec, i) => {
    const sample: LlavaSample = { ...rec };
    if (rec.image !== undefined) {
      const abs = resolve(imageFolder, rec.image);
      if (mode && !checked.has(abs)) {
        const where = `${path}: record ${i} (id ${rec.id}), field "image" ("${rec.image}")`;
        if (!existsSync(abs)) throw new Error(`${where}: not found at ${abs}`);
        if (mode === 'header') {
          folderReal ??= realpathSync(imageFolder);
          const real = realpathSync(abs);
          const rel = relative(folderReal, real);
          if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${where}: resolves to ${real}, outside the image folder ${folderReal}; image paths must stay inside it`);
          try {
            checkImageHeader(real, maxPixels);
            if (decodeLeft > 0) {
              decodeLeft--;
              decodeImage(real);
            }
          } catch (e) {
            throw new Error(`${where}: ${(e as Error).message}`);
          }
        }
        checked.add(abs);
      }
      sample.image = abs;
    }
    return sample;
  });
}
