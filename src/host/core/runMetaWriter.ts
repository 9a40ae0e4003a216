/**
 * Writes a run's annotations (`<runDir>/run-meta.json`, see src/common/runMeta.ts): reads what is
 * there, changes only the fields asked for (keys it does not know are kept), and replaces the file
 * atomically (a temp file beside it, fsync, rename), so a reader never sees half a file. A file
 * that is not a JSON object is left alone: the write is refused with the reason. No vscode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../common/atomic';
import { RUN_META_FILE, validateRunMeta, type RunMeta } from '../../common/runMeta';

/** Fields to change: a present key sets that field; `undefined`, blank text or `[]` removes it. */
export type RunMetaPatch = { [K in keyof RunMeta]?: RunMeta[K] | undefined };

/** The raw object of run-meta.json ({} when missing); throws when the file is there but unusable. */
function readRaw(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); fix or remove it before editing the run's name, tags or note`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file} does not hold a JSON object; fix or remove it before editing the run's name, tags or note`);
  return v as Record<string, unknown>;
}

const isEmpty = (x: unknown): boolean => x === undefined || (typeof x === 'string' && !x.trim()) || (Array.isArray(x) && x.length === 0);

/**
 * Applies `patch` to `<runDir>/run-meta.json` and returns the annotations now stored. Throws when
 * the run folder is gone, the existing file is unusable, or the new values are invalid.
 */
export function writeRunMeta(runDir: string, patch: RunMetaPatch): RunMeta {
  if (!fs.statSync(runDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`run folder ${runDir} does not exist`);
  const file = path.join(runDir, RUN_META_FILE);
  const raw = readRaw(file);
  for (const key of Object.keys(patch) as (keyof RunMeta)[]) {
    const value = patch[key];
    if (isEmpty(value)) delete raw[key];
    else raw[key] = typeof value === 'string' ? value.trim() : value;
  }
  const checked = validateRunMeta(raw);
  if (!checked.ok) throw new Error(`${RUN_META_FILE}: ${checked.error}`);
  writeFileAtomic(file, JSON.stringify(raw, null, 2) + '\n');
  return checked.value;
}
