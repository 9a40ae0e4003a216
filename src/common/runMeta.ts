/**
 * The user's annotations of a run, `<runDir>/run-meta.json` `{ name?, tags?, note? }`: written
 * only by the extension (src/host/core/runMetaWriter.ts), never by the trainer. Here: the rules of the
 * fields (tag syntax, lengths), a validator of parsed content and a reader that reports a missing
 * or malformed file instead of throwing, so a run with a bad file still shows by its id.
 * `readRunMeta` uses node:fs: the extension host and the CLI may import this file, the webviews
 * only its types.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUN_META_FILE = 'run-meta.json';

export interface RunMeta {
  /** Shown instead of the run id. */
  name?: string;
  /** Each matches TAG_PATTERN. */
  tags?: string[];
  note?: string;
}

/** A tag: 1 to 40 letters, digits or `- _ . : /`. */
export const TAG_PATTERN = /^[A-Za-z0-9_.:/-]{1,40}$/;
export const MAX_TAG_LENGTH = 40;
export const MAX_NAME_LENGTH = 200;
export const MAX_NOTE_LENGTH = 2000;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Why `tag` is not a valid tag, or undefined when it is. */
export function tagProblem(tag: string): string | undefined {
  if (!tag) return 'empty tag (two commas in a row, or a comma at an end?)';
  if (tag.length > MAX_TAG_LENGTH) return `tag "${tag.slice(0, 20)}…" is ${tag.length} characters long (at most ${MAX_TAG_LENGTH})`;
  if (!TAG_PATTERN.test(tag)) return `tag "${tag}" may hold only letters, digits and - _ . : /`;
  return undefined;
}

/**
 * Tags typed as `a, b,c` (spaces around commas ignored, duplicates dropped). A blank input is
 * no tags; an empty tag between commas and any invalid tag are errors.
 */
export function parseTagInput(input: string): Checked<string[]> {
  if (!input.trim()) return { ok: true, value: [] };
  const tags: string[] = [];
  for (const raw of input.split(',')) {
    const t = raw.trim();
    const problem = tagProblem(t);
    if (problem) return { ok: false, error: problem };
    if (!tags.includes(t)) tags.push(t);
  }
  return { ok: true, value: tags };
}

/** Checks parsed run-meta.json content; unknown keys are ignored (kept by the writer). */
export function validateRunMeta(v: unknown): Checked<RunMeta> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}` };
  const o = v as Record<string, unknown>;
  const meta: RunMeta = {};
  if (o.name !== undefined) {
    if (typeof o.name !== 'string') return { ok: false, error: `"name" must be a string, got ${JSON.stringify(o.name)}` };
    if (o.name.length > MAX_NAME_LENGTH) return { ok: false, error: `"name" is ${o.name.length} characters long (at most ${MAX_NAME_LENGTH})` };
    if (o.name.trim()) meta.name = o.name.trim();
  }
  if (o.tags !== undefined) {
    if (!Array.isArray(o.tags) || !o.tags.every((t) => typeof t === 'string')) return { ok: false, error: `"tags" must be an array of strings, got ${JSON.stringify(o.tags)}` };
    for (const t of o.tags as string[]) {
      const problem = tagProblem(t);
      if (problem) return { ok: false, error: `"tags": ${problem}` };
    }
    if (o.tags.length) meta.tags = [...new Set(o.tags as string[])];
  }
  if (o.note !== undefined) {
    if (typeof o.note !== 'string') return { ok: false, error: `"note" must be a string, got ${JSON.stringify(o.note)}` };
    if (o.note.length > MAX_NOTE_LENGTH) return { ok: false, error: `"note" is ${o.note.length} characters long (at most ${MAX_NOTE_LENGTH})` };
    if (o.note.trim()) meta.note = o.note.trim();
  }
  return { ok: true, value: meta };
}

export interface RunMetaRead {
  /** The annotations; empty when the file is missing or malformed. */
  meta: RunMeta;
  /** Why the file could not be used (it exists but is unreadable, not JSON or invalid). */
  error?: string;
}

/** Reads `<runDir>/run-meta.json`. Never throws: a missing file is no annotations, a bad one is reported. */
export function readRunMeta(runDir: string): RunMetaRead {
  const file = path.join(runDir, RUN_META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { meta: {} };
    return { meta: {}, error: `${RUN_META_FILE} cannot be read: ${(e as Error).message}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    return { meta: {}, error: `${RUN_META_FILE} is not valid JSON: ${(e as Error).message}` };
  }
  const checked = validateRunMeta(v);
  return checked.ok ? { meta: checked.value } : { meta: {}, error: `${RUN_META_FILE}: ${checked.error}` };
}
