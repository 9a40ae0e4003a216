/**
 * The teacher store: trained teacher sides (shared vision encoder + teacher MLLM) kept as
 * artifacts, as in real work, where everyone distils from one released checkpoint. One entry
 * `<root>/<key>/` holds the checkpoints under the names the stage plan uses
 * (`vision-vision.safetensors`, `teacher-sft.safetensors`) and `manifest.json` (key, recipe, data
 * fingerprint, SHA-256 and size of every checkpoint, the teacher's eval lines, how it was trained).
 *
 * Roots: the writable cache (`$LLAVA_KD_CACHE_DIR/teachers`, default `~/.cache/llava-kd/teachers`;
 * the extension points it at its global storage) and read-only packaged roots (the default
 * teacher shipped in `assets/teachers/`). An entry is written as `.<key>.partial-<pid>/` and
 * renamed into place, so a reader never sees half an entry; every lookup verifies the manifest
 * and the checkpoint hashes, and a cache entry that fails is removed (then trained again), never
 * used. `<key>.lock` (pid inside) lets concurrent runs that need the same teacher train it once.
 * Node only (fs, crypto).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { EvalLine } from '../../common/runFormat';
import { isProcessAlive } from '../../common/runReader';
import { lockOwner, releaseLock, takeLock } from '../io/lockFile';
import { defaultCacheDir } from '../train/teacherCache';
import { TEACHER_FORMAT_VERSION } from './recipe';

export const MANIFEST = 'manifest.json';

export interface TeacherCheckpoint {
  /** Checkpoint name of the stage plan (file `<name>.safetensors`). */
  name: string;
  sha256: string;
  bytes: number;
}

export interface TeacherManifest {
  format: 'llava-kd-teacher';
  formatVersion: number;
  key: string;
  /** Name of the experiment that trained it. */
  name: string;
  createdAt: string;
  /** teacherRecipe() of the config that trained it. */
  recipe: Record<string, unknown>;
  dataFingerprint: string;
  checkpoints: TeacherCheckpoint[];
  /** Eval lines of the teacher side's stages (val during training, test at the end, the vision probe). */
  evals: EvalLine[];
  /** How it was trained (not part of the key). */
  trainedWith: { backend: string; workers: number; seconds: number; node: string; runId?: string; stages: string[] };
}

export type EntrySource = 'cache' | 'package';

export interface TeacherEntry {
  key: string;
  dir: string;
  source: EntrySource;
  manifest: TeacherManifest;
}

export interface ListedEntry {
  key: string;
  dir: string;
  source: EntrySource;
  /** ok; corrupt (fails its checks: removed on next use); partial (being written, or left by a crash); training (a live run holds its lock). */
  state: 'ok' | 'corrupt' | 'partial' | 'training';
  manifest?: TeacherManifest;
  problem?: string;
  /** Pid of the run training it (state `training`). */
  pid?: number;
  bytes: number;
}

/** Folder of the packaged teachers (`<package root>/assets/teachers`), found from this file or dist/. */
export function packagedTeachersDir(): string | undefined {
  for (let d = __dirname, i = 0; i < 5; i++, d = dirname(d)) {
    const p = join(d, 'assets', 'teachers');
    if (existsSync(join(d, 'package.json')) && existsSync(p)) return p;
  }
  return undefined;
}

/** Test accuracy of the teacher recorded in a manifest (its test eval line), if any. */
export function manifestTestAccuracy(m: TeacherManifest): number | undefined {
  return m.evals.find((e) => e.split === 'test' && e.model === 'teacher')?.accuracy;
}

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/** Checks an entry folder; returns its manifest or the first problem found. */
export function verifyEntry(dir: string, key?: string): { manifest: TeacherManifest } | { problem: string } {
  let m: TeacherManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as TeacherManifest;
  } catch (e) {
    return { problem: `${join(dir, MANIFEST)}: ${existsSync(join(dir, MANIFEST)) ? `not valid JSON (${(e as Error).message})` : 'missing'}` };
  }
  if (m.format !== 'llava-kd-teacher') return { problem: `${join(dir, MANIFEST)}: not a teacher manifest (format ${JSON.stringify(m.format)})` };
  if (m.formatVersion !== TEACHER_FORMAT_VERSION) return { problem: `${join(dir, MANIFEST)}: format version ${m.formatVersion}, this code reads ${TEACHER_FORMAT_VERSION}` };
  if (key !== undefined && m.key !== key) return { problem: `${join(dir, MANIFEST)}: key ${m.key}, expected ${key}` };
  if (!Array.isArray(m.checkpoints) || !m.checkpoints.length) return { problem: `${join(dir, MANIFEST)}: lists no checkpoints` };
  for (const c of m.checkpoints) {
    const f = join(dir, `${c.name}.safetensors`);
    if (!existsSync(f)) return { problem: `${f}: missing` };
    const size = statSync(f).size;
    if (size !== c.bytes) return { problem: `${f}: ${size} bytes, the manifest says ${c.bytes}` };
    const h = sha256File(f);
    if (h !== c.sha256) return { problem: `${f}: SHA-256 ${h.slice(0, 12)}…, the manifest says ${c.sha256.slice(0, 12)}…` };
  }
  return { manifest: m };
}

export class TeacherStore {
  /** Writable root. */
  readonly root: string;
  /** Read-only roots searched after it (the packaged default teacher). */
  readonly packaged: string[];

  constructor(root = join(defaultCacheDir(), 'teachers'), packaged: string[] = [packagedTeachersDir()].filter((x): x is string => !!x)) {
    this.root = resolve(root);
    this.packaged = packaged.map((p) => resolve(p)).filter((p) => p !== this.root);
  }

  lockFile(key: string): string {
    return join(this.root, `${key}.lock`);
  }

  /**
   * The verified entry of `key`: the writable cache first, then the packaged roots. A cache entry
   * that fails its checks is removed (reported through `log`) and the lookup goes on as a miss.
   */
  lookup(key: string, log: (m: string) => void = () => {}): TeacherEntry | undefined {
    const dir = join(this.root, key);
    if (existsSync(dir)) {
      const v = verifyEntry(dir, key);
      if ('manifest' in v) return { key, dir, source: 'cache', manifest: v.manifest };
      log(`teacher store: entry ${key} is corrupt (${v.problem}); removing it, it will be trained again`);
      rmSync(dir, { recursive: true, force: true });
    }
    for (const root of this.packaged) {
      const p = join(root, key);
      if (!existsSync(p)) continue;
      const v = verifyEntry(p, key);
      if ('manifest' in v) return { key, dir: p, source: 'package', manifest: v.manifest };
      log(`teacher store: the packaged teacher ${p} fails its checks (${v.problem}); not using it`);
    }
    return undefined;
  }

  /** Takes the key's lock (false when a live process holds it). */
  tryLock(key: string): boolean {
    mkdirSync(this.root, { recursive: true });
    return takeLock(this.lockFile(key));
  }

  unlock(key: string): void {
    releaseLock(this.lockFile(key));
  }

  /** Pid of the live process holding the key's lock, if any. */
  lockedBy(key: string): number | undefined {
    const pid = lockOwner(this.lockFile(key));
    return pid !== undefined && isProcessAlive(pid) ? pid : undefined;
  }

  /**
   * Writes an entry from checkpoint files (name → path): copied and hashed into a partial folder,
   * manifest last, then renamed into place. Replaces an existing entry of the same key.
   */
  publish(manifest: Omit<TeacherManifest, 'checkpoints' | 'format' | 'formatVersion'>, files: Record<string, string>): TeacherEntry {
    mkdirSync(this.root, { recursive: true });
    const partial = join(this.root, `.${manifest.key}.partial-${process.pid}`);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial);
    try {
      const checkpoints: TeacherCheckpoint[] = [];
      for (const [name, src] of Object.entries(files)) {
        const dst = join(partial, `${name}.safetensors`);
        copyFileSync(src, dst);
        checkpoints.push({ name, sha256: sha256File(dst), bytes: statSync(dst).size });
      }
      const full: TeacherManifest = { format: 'llava-kd-teacher', formatVersion: TEACHER_FORMAT_VERSION, ...manifest, checkpoints };
      writeFileSync(join(partial, MANIFEST), JSON.stringify(full, null, 2) + '\n');
      const dir = join(this.root, manifest.key);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
      return { key: manifest.key, dir, source: 'cache', manifest: full };
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      throw e;
    }
  }

  /** Every entry of every root, with its state; partial folders of dead writers are removed. */
  list(): ListedEntry[] {
    const out: ListedEntry[] = [];
    const roots: [string, EntrySource][] = [[this.root, 'cache'], ...this.packaged.map((p): [string, EntrySource] => [p, 'package'])];
    for (const [root, source] of roots) {
      if (!existsSync(root)) continue;
      for (const name of readdirSync(root).sort()) {
        const dir = join(root, name);
        const partial = /^\.([0-9a-f]+)\.partial-(\d+)$/.exec(name);
        if (partial) {
          const pid = Number(partial[2]);
          if (source === 'cache' && !isProcessAlive(pid)) { rmSync(dir, { recursive: true, force: true }); continue; }
          out.push({ key: partial[1], dir, source, state: 'partial', pid, bytes: folderBytes(dir) });
          continue;
        }
        const lock = /^([0-9a-f]+)\.lock$/.exec(name);
        if (lock) {
          const pid = this.lockedBy(lock[1]);
          if (pid !== undefined && !existsSync(join(root, lock[1]))) out.push({ key: lock[1], dir: join(root, lock[1]), source, state: 'training', pid, bytes: 0 });
          continue;
        }
        if (!/^[0-9a-f]+$/.test(name) || !statSync(dir).isDirectory()) continue;
        const v = verifyEntry(dir, name);
        out.push('manifest' in v
          ? { key: name, dir, source, state: 'ok', manifest: v.manifest, bytes: folderBytes(dir) }
          : { key: name, dir, source, state: 'corrupt', problem: v.problem, bytes: folderBytes(dir) });
      }
    }
    return out;
  }

  /** Removes a cache entry (packaged ones are read-only). Refuses while a live run trains it. */
  remove(key: string): boolean {
    const pid = this.lockedBy(key);
    if (pid !== undefined) throw new Error(`teacher ${key} is being trained by process ${pid}; stop that run first`);
    const dir = join(this.root, key);
    if (!existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  }
}

function folderBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) n += statSync(join(dir, f)).size;
  } catch { /* vanished */ }
  return n;
}
