/**
 * Teacher-output cache (exact mode): the frozen teacher's logits at the rows the distillation
 * losses read (each sample's response positions, then its Np visual positions), computed once for
 * a (teacher, vision encoder, the samples a stage draws) and replayed by every DPT/DFT run and
 * ablation that has the same key, instead of running the teacher every step. Only the samples
 * the stage will draw are computed (its sampler is deterministic): a 400-step stage of batch 16
 * reads 6400 of the world's 90 000 instructions.
 *
 * Layout of one entry `<cacheDir>/teacher-outputs/<key>/`: `rows.f32` (float32, sample after
 * sample, each sample's rows of V logits) and `index.json` (format version, key, V, Np, and per
 * sample its data-set index, row offset, response-row count and whether it has an image). The key is a SHA-256 of
 * the format version, the bytes of the teacher and vision checkpoints and every token, label flag,
 * image slot and image pixel of the set, so a change to any of them is a different entry, never a
 * silent reuse. An entry is built in `<key>.partial/` (resumable: an interrupted build continues
 * from its last finished chunk), then renamed into place; a lock file lets concurrent runs build it
 * once (the others wait); an entry that fails its checks on open is rebuilt.
 * Node only (fs, crypto); tensors through tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { releaseLock, sleepMs, takeLock } from '../io/lockFile';
import { buildBatch, disposeBatch, responseRows, type Batch, type EncodedSample } from '../models/batch';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import type { TeacherOutputs, TeacherSource } from './step';

/** Bump when the layout or the meaning of the stored rows changes. */
export const TEACHER_CACHE_VERSION = 2;
/** Samples per teacher forward while building (also the resume granularity). */
const BUILD_CHUNK = 32;

/** `$LLAVA_KD_CACHE_DIR`, else `$XDG_CACHE_HOME/llava-kd`, else `~/.cache/llava-kd`. */
export function defaultCacheDir(): string {
  if (process.env.LLAVA_KD_CACHE_DIR) return process.env.LLAVA_KD_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'llava-kd');
}

interface CacheIndex {
  version: number;
  key: string;
  vocab: number;
  np: number;
  /** Index in the stage's data set of each stored sample (the batches name samples by it). */
  sampleIds: number[];
  /** Row offset of each sample (in rows of V floats). */
  offsets: number[];
  /** Response rows of each sample. */
  nt: number[];
  /** 1 when the sample has an image (Np visual rows follow its response rows). */
  image: number[];
  totalRows: number;
}

/**
 * The cache key of a teacher on a data set.
 * @param checkpoints paths of the teacher checkpoint and the vision checkpoint (null: none)
 */
export function teacherCacheKey(checkpoints: (string | null)[], set: EncodedSample[]): string {
  const h = createHash('sha256');
  h.update(`llava-kd teacher outputs v${TEACHER_CACHE_VERSION}\n`);
  for (const c of checkpoints) h.update(c ? createHash('sha256').update(readFileSync(c)).digest('hex') : 'none').update('\n');
  const imageHash = new Map<Float32Array, string>();
  for (const s of set) {
    h.update(Int32Array.from(s.tokens)).update(s.isLabel).update(`|${s.visualStart}|`);
    if (s.patches) {
      let ih = imageHash.get(s.patches);
      if (!ih) imageHash.set(s.patches, (ih = createHash('sha256').update(new Uint8Array(s.patches.buffer, s.patches.byteOffset, s.patches.byteLength)).digest('hex')));
      h.update(ih);
    }
  }
  return h.digest('hex').slice(0, 32);
}

/** The teacher's outputs replayed from a cache entry. */
export class CachedTeacher implements TeacherSource {
  /** Data-set index → position in the entry. */
  private readonly pos: Map<number, number>;

  private constructor(private readonly fd: number, private readonly index: CacheIndex, readonly dir: string) {
    this.pos = new Map(index.sampleIds.map((id, k) => [id, k]));
  }

  /**
   * Opens the entry of `key` under `cacheDir`, building it first when missing or invalid.
   * @param set the samples the stage draws (its key is computed over them)
   * @param sampleIds their indices in the stage's data set (a batch names its samples by them)
   * @param teacher the frozen teacher, used only to build
   */
  static openOrBuild(cacheDir: string, key: string, set: EncodedSample[], sampleIds: number[], teacher: Mllm, vision: VisionEncoder, np: number, patchDim: number, padId: number, log: (m: string) => void): CachedTeacher {
    const root = join(cacheDir, 'teacher-outputs');
    mkdirSync(root, { recursive: true });
    const dir = join(root, key);
    const lock = join(root, `${key}.lock`);
    for (;;) {
      const ok = CachedTeacher.tryOpen(dir, key, sampleIds, teacher.vocab, np);
      if (ok) return ok;
      if (existsSync(dir)) {
        log(`teacher-output cache ${dir} is incomplete or corrupt: rebuilding it`);
        rmSync(dir, { recursive: true, force: true });
      }
      if (takeLock(lock)) {
        try {
          build(dir, key, set, sampleIds, teacher, vision, np, patchDim, padId, log);
        } finally {
          releaseLock(lock);
        }
        continue;
      }
      log(`waiting for another run to build the teacher-output cache ${dir}`);
      sleepMs(500);
    }
  }

  /** Opens an entry that another thread of this run has just validated (a training worker's replica). */
  static openBuilt(dir: string): CachedTeacher {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as CacheIndex;
    return new CachedTeacher(openSync(join(dir, 'rows.f32'), 'r'), index, dir);
  }

  private static tryOpen(dir: string, key: string, sampleIds: number[], vocab: number, np: number): CachedTeacher | undefined {
    const file = join(dir, 'rows.f32');
    let index: CacheIndex;
    try {
      index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as CacheIndex;
    } catch {
      return undefined;
    }
    if (index.version !== TEACHER_CACHE_VERSION || index.key !== key || index.vocab !== vocab || index.np !== np || index.offsets?.length !== sampleIds.length) return undefined;
    if (index.sampleIds?.length !== sampleIds.length || index.sampleIds.some((id, k) => id !== sampleIds[k])) return undefined;
    if (!existsSync(file) || statSync(file).size !== index.totalRows * vocab * 4) return undefined;
    return new CachedTeacher(openSync(file, 'r'), index, dir);
  }

  outputs(batch: Batch, _feats: tf.Tensor3D | null, indices?: number[]): TeacherOutputs {
    if (!indices || indices.length !== batch.B) throw new Error('CachedTeacher.outputs: the data-set indices of the batch are required');
    const { vocab: V, np } = this.index;
    const res = new Float32Array(batch.Nt * V);
    const vis = new Float32Array(batch.Bi * np * V);
    let r = 0;
    let k = 0;
    for (const id of indices) {
      const i = this.pos.get(id);
      if (i === undefined) throw new Error(`teacher-output cache ${this.dir} holds no outputs for sample ${id} (it stores the samples its stage draws): rebuild it by deleting the folder`);
      const nt = this.index.nt[i];
      const img = this.index.image[i];
      const rows = new Float32Array((nt + img * np) * V);
      readSync(this.fd, new Uint8Array(rows.buffer), 0, rows.byteLength, this.index.offsets[i] * V * 4);
      res.set(rows.subarray(0, nt * V), r * V);
      r += nt;
      if (img) vis.set(rows.subarray(nt * V), k++ * np * V);
    }
    if (r !== batch.Nt || k !== batch.Bi) throw new Error(`teacher-output cache ${this.dir} does not match the batch (${r} response rows for ${batch.Nt}, ${k} images for ${batch.Bi}): rebuild it by deleting the folder`);
    return { res: tf.tensor2d(res, [batch.Nt, V]), vis: batch.Bi ? tf.tensor3d(vis, [batch.Bi, np, V]) : null };
  }

  dispose(): void {
    closeSync(this.fd);
  }
}

function build(dir: string, key: string, set: EncodedSample[], sampleIds: number[], teacher: Mllm, vision: VisionEncoder, np: number, patchDim: number, padId: number, log: (m: string) => void): void {
  const V = teacher.vocab;
  const nt = set.map(responseRows);
  const image = set.map((s) => (s.visualStart >= 0 ? 1 : 0));
  const offsets: number[] = [];
  let totalRows = 0;
  for (let i = 0; i < set.length; i++) {
    offsets.push(totalRows);
    totalRows += nt[i] + image[i] * np;
  }
  const bytes = totalRows * V * 4;
  const partial = `${dir}.partial`;
  mkdirSync(partial, { recursive: true });
  const progressFile = join(partial, 'progress.json');
  let done = 0;
  try {
    const p = JSON.parse(readFileSync(progressFile, 'utf8')) as { key: string; samples: number };
    if (p.key === key) done = p.samples;
  } catch { /* a fresh build */ }
  log(`teacher-output cache: ${done ? `resuming the build at sample ${done} of ${set.length}` : `building for ${set.length} samples`}: ${totalRows} rows × ${V} logits, ${(bytes / 1e6).toFixed(1)} MB, in ${dir}`);
  const fd = openSync(join(partial, 'rows.f32'), done ? 'r+' : 'w');
  const t0 = Date.now();
  try {
    ftruncateSync(fd, done < set.length ? offsets[done] * V * 4 : bytes);
    for (let start = done; start < set.length; start += BUILD_CHUNK) {
      const chunk = set.slice(start, start + BUILD_CHUNK);
      const batch = buildBatch(chunk, np, patchDim, padId);
      const rows: Float32Array[] = [];
      tf.tidy(() => {
        const feats = batch.patches ? vision.forward(batch.patches) : null;
        const o = teacher.forwardRows(batch, feats);
        rows.push(o.res.dataSync() as Float32Array, o.vis ? (o.vis.dataSync() as Float32Array) : new Float32Array(0));
      });
      disposeBatch(batch);
      // Per sample: its response rows, then its visual rows (the order outputs() reads back).
      let r = 0;
      let k = 0;
      const out = new Float32Array((offsets[start + chunk.length - 1] + nt[start + chunk.length - 1] + image[start + chunk.length - 1] * np - offsets[start]) * V);
      let o = 0;
      chunk.forEach((_, j) => {
        const i = start + j;
        out.set(rows[0].subarray(r * V, (r + nt[i]) * V), o);
        o += nt[i] * V;
        r += nt[i];
        if (image[i]) {
          out.set(rows[1].subarray(k * np * V, (k + 1) * np * V), o);
          o += np * V;
          k++;
        }
      });
      writeSync(fd, new Uint8Array(out.buffer), 0, out.byteLength, offsets[start] * V * 4);
      writeFileSync(progressFile, JSON.stringify({ key, samples: start + chunk.length }));
    }
    if (fstatSync(fd).size !== bytes) throw new Error(`teacher-output cache build wrote ${fstatSync(fd).size} bytes, expected ${bytes}`);
  } finally {
    closeSync(fd);
  }
  const index: CacheIndex = { version: TEACHER_CACHE_VERSION, key, vocab: V, np, sampleIds, offsets, nt, image, totalRows };
  writeFileSync(join(partial, 'index.json'), JSON.stringify(index));
  rmSync(progressFile, { force: true });
  renameSync(partial, dir);
  log(`teacher-output cache built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${dir}`);
}
