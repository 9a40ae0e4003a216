/**
 * Teacher-output cache: the frozen teacher's logits at the rows the distillation losses read
 * (each sample's response positions, then its Np visual positions), computed once for a
 * (teacher, vision encoder, the samples a stage draws, storage format) and replayed by every
 * DPT/DFT run and ablation that has the same key, instead of running the teacher every step.
 * Only the samples the stage will draw are computed (its sampler is deterministic): a 400-step
 * stage of batch 16 reads 6400 of the world's 90 000 instructions. Rows are stored `exact`
 * (float32), `fp16` or `topk` (teacherCacheCodec.ts); in `topk` mode the entry also keeps each
 * image's exact teacher relation matrix (Np × Np), which RDist reads instead of recomputing it
 * from the approximated visual logits.
 *
 * Layout of one entry `<cacheDir>/teacher-outputs/<key>/`: the rows file (`rows.f32`, `rows.f16`
 * or `rows.topk`: sample after sample, each sample's rows), `rel.f32` (topk: float32 [Np, Np] per
 * image, in sample order) and `index.json` (format version, key, mode, V, Np, and per sample its
 * data-set index, row offset, response-row count and whether it has an image; what the encoding
 * lost). The key is a SHA-256 of the format version, the storage format, the bytes of the teacher
 * and vision checkpoints and every token, label flag, image slot and image pixel of the set, so a
 * change to any of them is a different entry, never a silent reuse. An entry is built in
 * `<key>.partial/` (resumable: an interrupted build continues from its last finished chunk),
 * then renamed into place; a lock file lets concurrent runs build it once (the others wait); an
 * entry that fails its checks on open is rebuilt.
 * Node only (fs, crypto); tensors through tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { releaseLock, sleepMs, takeLock } from '../io/lockFile';
import { buildBatch, disposeBatch, responseRows, type Batch } from '../models/batch';
import type { EncodedSample } from '../data/encodedSample';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import type { TeacherOutputs, TeacherSource } from './step';
import { relationMatrix } from '../losses';
import { decodeRows, encodeRows, finishStats, newStats, rowBytes, type CodecStats, type RowFormat } from './teacherCacheCodec';

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
  /** Storage of the rows (absent in entries written before the modes existed: exact). */
  format?: RowFormat;
  /** What the encoding lost (fp16 rounding error, topk tail mass). */
  stats?: CodecStats;
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

const EXACT: RowFormat = { mode: 'exact' };
const rowsFile = (f: RowFormat): string => (f.mode === 'exact' ? 'rows.f32' : f.mode === 'fp16' ? 'rows.f16' : 'rows.topk');
const sameFormat = (a: RowFormat | undefined, b: RowFormat): boolean => (a ?? EXACT).mode === b.mode && (b.mode !== 'topk' || a?.k === b.k);

/** Rows an entry for `set` stores (response rows, then Np visual rows per image). */
export function cacheRows(set: EncodedSample[], np: number): number {
  return set.reduce((n, s) => n + responseRows(s) + (s.visualStart >= 0 ? np : 0), 0);
}

/** Bytes of an entry for `set` in format `f` (rows, plus the relation matrices of topk). */
export function cacheBytes(set: EncodedSample[], np: number, vocab: number, f: RowFormat): number {
  const images = set.filter((s) => s.visualStart >= 0).length;
  return cacheRows(set, np) * rowBytes(vocab, f) + (f.mode === 'topk' ? images * np * np * 4 : 0);
}

/**
 * The cache key of a teacher on a data set.
 * @param checkpoints paths of the teacher checkpoint and the vision checkpoint (null: none)
 * @param format how the rows are stored (part of the key)
 */
export function teacherCacheKey(checkpoints: (string | null)[], set: EncodedSample[], format: RowFormat = EXACT): string {
  const h = createHash('sha256');
  h.update(`llava-kd teacher outputs v${TEACHER_CACHE_VERSION}\n`);
  // Exact entries keep the key they had before the other formats existed.
  if (format.mode !== 'exact') h.update(`format ${format.mode}${format.mode === 'topk' ? ` k ${format.k}` : ''}\n`);
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
  /** Image ordinal of each sample with an image (its relation matrix's place in rel.f32). */
  private readonly imageOrdinal: number[];
  private readonly format: RowFormat;
  private readonly rowBytes: number;

  private constructor(private readonly fd: number, private readonly relFd: number | null, private readonly index: CacheIndex, readonly dir: string) {
    this.pos = new Map(index.sampleIds.map((id, k) => [id, k]));
    let n = 0;
    this.imageOrdinal = index.image.map((img) => (img ? n++ : -1));
    this.format = index.format ?? EXACT;
    this.rowBytes = rowBytes(index.vocab, this.format);
  }

  /** What the stored rows lost against the teacher's fp32 logits (none for exact). */
  get stats(): CodecStats | undefined {
    return this.index.stats;
  }

  /**
   * Opens the entry of `key` under `cacheDir`, building it first when missing or invalid.
   * @param set the samples the stage draws (its key is computed over them)
   * @param sampleIds their indices in the stage's data set (a batch names its samples by them)
   * @param teacher the frozen teacher, used only to build
   * @param format how rows are stored (must be the format the key was computed with)
   */
  static openOrBuild(cacheDir: string, key: string, set: EncodedSample[], sampleIds: number[], teacher: Mllm, vision: VisionEncoder, np: number, patchDim: number, padId: number, log: (m: string) => void, format: RowFormat = EXACT): CachedTeacher {
    const root = join(cacheDir, 'teacher-outputs');
    mkdirSync(root, { recursive: true });
    const dir = join(root, key);
    const lock = join(root, `${key}.lock`);
    for (;;) {
      const ok = CachedTeacher.tryOpen(dir, key, sampleIds, teacher.vocab, np, format);
      if (ok) return ok;
      if (existsSync(dir)) {
        log(`teacher-output cache ${dir} is incomplete or corrupt: rebuilding it`);
        rmSync(dir, { recursive: true, force: true });
      }
      if (takeLock(lock)) {
        try {
          build(dir, key, set, sampleIds, teacher, vision, np, patchDim, padId, log, format);
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
    const f = index.format ?? EXACT;
    return new CachedTeacher(openSync(join(dir, rowsFile(f)), 'r'), f.mode === 'topk' ? openSync(join(dir, 'rel.f32'), 'r') : null, index, dir);
  }

  private static tryOpen(dir: string, key: string, sampleIds: number[], vocab: number, np: number, format: RowFormat): CachedTeacher | undefined {
    const file = join(dir, rowsFile(format));
    let index: CacheIndex;
    try {
      index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as CacheIndex;
    } catch {
      return undefined;
    }
    if (index.version !== TEACHER_CACHE_VERSION || index.key !== key || index.vocab !== vocab || index.np !== np || index.offsets?.length !== sampleIds.length) return undefined;
    if (!sameFormat(index.format, format)) return undefined;
    if (index.sampleIds?.length !== sampleIds.length || index.sampleIds.some((id, k) => id !== sampleIds[k])) return undefined;
    if (!existsSync(file) || statSync(file).size !== index.totalRows * rowBytes(vocab, format)) return undefined;
    const images = index.image.reduce((a, b) => a + b, 0);
    const rel = join(dir, 'rel.f32');
    if (format.mode === 'topk' && (!existsSync(rel) || statSync(rel).size !== images * np * np * 4)) return undefined;
    return new CachedTeacher(openSync(file, 'r'), format.mode === 'topk' ? openSync(rel, 'r') : null, index, dir);
  }

  outputs(batch: Batch, _feats: tf.Tensor3D | null, indices?: number[]): TeacherOutputs {
    if (!indices || indices.length !== batch.B) throw new Error('CachedTeacher.outputs: the data-set indices of the batch are required');
    const { vocab: V, np } = this.index;
    const res = new Float32Array(batch.Nt * V);
    const vis = new Float32Array(batch.Bi * np * V);
    const rel = this.relFd !== null ? new Float32Array(batch.Bi * np * np) : null;
    let r = 0;
    let k = 0;
    for (const id of indices) {
      const i = this.pos.get(id);
      if (i === undefined) throw new Error(`teacher-output cache ${this.dir} holds no outputs for sample ${id} (it stores the samples its stage draws): rebuild it by deleting the folder`);
      const nt = this.index.nt[i];
      const img = this.index.image[i];
      const n = nt + img * np;
      const bytes = new Uint8Array(n * this.rowBytes);
      readSync(this.fd, bytes, 0, bytes.byteLength, this.index.offsets[i] * this.rowBytes);
      const rows = decodeRows(bytes, n, V, this.format);
      res.set(rows.subarray(0, nt * V), r * V);
      r += nt;
      if (img) {
        vis.set(rows.subarray(nt * V), k * np * V);
        if (rel) readSync(this.relFd!, new Uint8Array(rel.buffer, k * np * np * 4, np * np * 4), 0, np * np * 4, this.imageOrdinal[i] * np * np * 4);
        k++;
      }
    }
    if (r !== batch.Nt || k !== batch.Bi) throw new Error(`teacher-output cache ${this.dir} does not match the batch (${r} response rows for ${batch.Nt}, ${k} images for ${batch.Bi}): rebuild it by deleting the folder`);
    return {
      res: tf.tensor2d(res, [batch.Nt, V]),
      vis: batch.Bi ? tf.tensor3d(vis, [batch.Bi, np, V]) : null,
      ...(rel && batch.Bi ? { rel: tf.tensor3d(rel, [batch.Bi, np, np]) } : {}),
    };
  }

  dispose(): void {
    closeSync(this.fd);
    if (this.relFd !== null) closeSync(this.relFd);
  }
}

function build(dir: string, key: string, set: EncodedSample[], sampleIds: number[], teacher: Mllm, vision: VisionEncoder, np: number, patchDim: number, padId: number, log: (m: string) => void, format: RowFormat): void {
  const V = teacher.vocab;
  const rb = rowBytes(V, format);
  const nt = set.map(responseRows);
  const image = set.map((s) => (s.visualStart >= 0 ? 1 : 0));
  const offsets: number[] = [];
  const imageOrdinal: number[] = [];
  let totalRows = 0;
  let images = 0;
  for (let i = 0; i < set.length; i++) {
    offsets.push(totalRows);
    imageOrdinal.push(images);
    totalRows += nt[i] + image[i] * np;
    images += image[i];
  }
  const bytes = totalRows * rb;
  const relBytes = format.mode === 'topk' ? images * np * np * 4 : 0;
  const partial = `${dir}.partial`;
  mkdirSync(partial, { recursive: true });
  const progressFile = join(partial, 'progress.json');
  let done = 0;
  let stats = newStats(format);
  try {
    const p = JSON.parse(readFileSync(progressFile, 'utf8')) as { key: string; samples: number; stats?: CodecStats };
    if (p.key === key) {
      done = p.samples;
      stats = p.stats ?? stats;
    }
  } catch { /* a fresh build */ }
  const how = format.mode === 'exact' ? 'fp32' : format.mode === 'fp16' ? 'fp16' : `top-${format.k} logits + the rest's log-sum-exp, and ${images} relation matrices`;
  log(`teacher-output cache: ${done ? `resuming the build at sample ${done} of ${set.length}` : `building for ${set.length} samples`}: ${totalRows} rows × ${V} logits (${how}), ${((bytes + relBytes) / 1e6).toFixed(1)} MB, in ${dir}`);
  const fd = openSync(join(partial, rowsFile(format)), done ? 'r+' : 'w');
  const relFd = relBytes ? openSync(join(partial, 'rel.f32'), done ? 'r+' : 'w') : null;
  const t0 = Date.now();
  try {
    ftruncateSync(fd, done < set.length ? offsets[done] * rb : bytes);
    if (relFd !== null) ftruncateSync(relFd, done < set.length ? imageOrdinal[done] * np * np * 4 : relBytes);
    for (let start = done; start < set.length; start += BUILD_CHUNK) {
      const chunk = set.slice(start, start + BUILD_CHUNK);
      const batch = buildBatch(chunk, np, patchDim, padId);
      const rows: Float32Array[] = [];
      let rel: Float32Array | null = null;
      tf.tidy(() => {
        const feats = batch.patches ? vision.forward(batch.patches) : null;
        const o = teacher.forwardRows(batch, feats);
        rows.push(o.res.dataSync() as Float32Array, o.vis ? (o.vis.dataSync() as Float32Array) : new Float32Array(0));
        if (relFd !== null && o.vis) rel = relationMatrix(o.vis).dataSync() as Float32Array;
      });
      disposeBatch(batch);
      // Per sample: its response rows, then its visual rows (the order outputs() reads back).
      const last = start + chunk.length - 1;
      const chunkRows = offsets[last] + nt[last] + image[last] * np - offsets[start];
      const dense = new Float32Array(chunkRows * V);
      let r = 0;
      let k = 0;
      let o = 0;
      chunk.forEach((_, j) => {
        const i = start + j;
        dense.set(rows[0].subarray(r * V, (r + nt[i]) * V), o);
        o += nt[i] * V;
        r += nt[i];
        if (image[i]) {
          dense.set(rows[1].subarray(k * np * V, (k + 1) * np * V), o);
          o += np * V;
          k++;
        }
      });
      const out = new Uint8Array(chunkRows * rb);
      encodeRows(dense, chunkRows, V, format, out, stats);
      writeSync(fd, out, 0, out.byteLength, offsets[start] * rb);
      if (relFd !== null && rel) {
        const relData = rel as Float32Array;
        writeSync(relFd, new Uint8Array(relData.buffer, relData.byteOffset, relData.byteLength), 0, relData.byteLength, imageOrdinal[start] * np * np * 4);
      }
      writeFileSync(progressFile, JSON.stringify({ key, samples: start + chunk.length, stats }));
    }
    if (fstatSync(fd).size !== bytes) throw new Error(`teacher-output cache build wrote ${fstatSync(fd).size} bytes, expected ${bytes}`);
    if (relFd !== null && fstatSync(relFd).size !== relBytes) throw new Error(`teacher-output cache build wrote ${fstatSync(relFd).size} bytes of relation matrices, expected ${relBytes}`);
  } finally {
    closeSync(fd);
    if (relFd !== null) closeSync(relFd);
  }
  const final = finishStats(stats);
  const index: CacheIndex = { version: TEACHER_CACHE_VERSION, key, format, stats: final, vocab: V, np, sampleIds, offsets, nt, image, totalRows };
  writeFileSync(join(partial, 'index.json'), JSON.stringify(index));
  rmSync(progressFile, { force: true });
  renameSync(partial, dir);
  log(`teacher-output cache built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${dir}${describeStats(final)}`);
}

/** The log's account of what an encoding lost. */
export function describeStats(s: CodecStats | undefined): string {
  if (!s) return '';
  if (s.maxAbsError !== undefined) return ` (fp16 rounding: max |error| ${s.maxAbsError.toExponential(2)}, max relative ${s.maxRelError!.toExponential(2)})`;
  if (s.meanTailMass !== undefined) return ` (teacher probability outside the top k: mean ${s.meanTailMass.toExponential(2)}, max ${s.maxTailMass!.toExponential(2)})`;
  return '';
}
