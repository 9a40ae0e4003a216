/**
 * How the teacher-output cache stores one row of V teacher logits, per mode:
 * - `exact`: V float32 (the logits as computed);
 * - `fp16`: V IEEE half floats (round to nearest even; half the size, error measured at build);
 * - `topk`: the k largest logits (float32) and their ids (uint16), plus the log-sum-exp of the
 *   other V − k logits (float32), as DistillKit and TextBrewer store teachers for large
 *   vocabularies. Decoded, the k logits are exact and each of the V − k others is
 *   `lse_rest − ln(V − k)`: the teacher's tail mass at T = 1 kept exactly, spread evenly over
 *   the tail tokens. MDist then compares the student with that distribution (exact when k = V).
 * Plain functions on typed arrays; no tfjs.
 */

export type TeacherCacheMode = 'exact' | 'fp16' | 'topk';

export interface RowFormat {
  mode: TeacherCacheMode;
  /** Logits kept per row (topk only). */
  k?: number;
}

/** Bytes of one stored row of `vocab` logits. */
export function rowBytes(vocab: number, f: RowFormat): number {
  if (f.mode === 'topk' && vocab > 65536) throw new Error(`teacher-output cache: topk stores token ids as uint16, the vocabulary has ${vocab} tokens (at most 65536): use distill.teacherCache "fp16" or "exact"`);
  if (f.mode === 'exact') return 4 * vocab;
  if (f.mode === 'fp16') return 2 * vocab + (vocab % 2 ? 2 : 0);
  const k = Math.min(f.k!, vocab);
  return 4 * k + 4 + 2 * k + (k % 2 ? 2 : 0);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-float bits of x (round to nearest, ties to even; overflow to ±Inf). */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** The number a half-float bit pattern holds. */
export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** What encoding lost, accumulated over the rows of a build (written to the entry's index). */
export interface CodecStats {
  rows: number;
  /** fp16: largest |stored − logit| and |stored − logit| / |logit|. */
  maxAbsError?: number;
  maxRelError?: number;
  /** topk: teacher probability (T = 1) outside the k kept logits, mean and max over rows. */
  meanTailMass?: number;
  maxTailMass?: number;
}

export function newStats(f: RowFormat): CodecStats {
  return f.mode === 'fp16' ? { rows: 0, maxAbsError: 0, maxRelError: 0 } : f.mode === 'topk' ? { rows: 0, meanTailMass: 0, maxTailMass: 0 } : { rows: 0 };
}

/**
 * Encodes `n` rows of `vocab` logits into `out` (n · rowBytes bytes), updating `stats`.
 * @param rows float32 [n, vocab]
 */
export function encodeRows(rows: Float32Array, n: number, vocab: number, f: RowFormat, out: Uint8Array, stats: CodecStats): void {
  const rb = rowBytes(vocab, f);
  if (f.mode === 'exact') {
    out.set(new Uint8Array(rows.buffer, rows.byteOffset, n * vocab * 4));
  } else if (f.mode === 'fp16') {
    for (let r = 0; r < n; r++) {
      const h = new Uint16Array(out.buffer, out.byteOffset + r * rb, vocab);
      for (let i = 0; i < vocab; i++) {
        const x = rows[r * vocab + i];
        h[i] = toHalf(x);
        const err = Math.abs(fromHalf(h[i]) - x);
        if (err > stats.maxAbsError!) stats.maxAbsError = err;
        if (x !== 0 && err / Math.abs(x) > stats.maxRelError!) stats.maxRelError = err / Math.abs(x);
      }
    }
  } else {
    const k = Math.min(f.k!, vocab);
    const order = new Uint16Array(vocab);
    for (let r = 0; r < n; r++) {
      const row = rows.subarray(r * vocab, (r + 1) * vocab);
      for (let i = 0; i < vocab; i++) order[i] = i;
      // Largest first; ties by id, so the encoding is a function of the row.
      const top = Array.from(order).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
      const at = out.byteOffset + r * rb;
      const vals = new Float32Array(out.buffer, at, k);
      const ids = new Uint16Array(out.buffer, at + 4 * k + 4, k);
      const kept = new Uint8Array(vocab);
      top.forEach((id, j) => {
        vals[j] = row[id];
        ids[j] = id;
        kept[id] = 1;
      });
      let mAll = -Infinity;
      let mRest = -Infinity;
      for (let i = 0; i < vocab; i++) {
        mAll = Math.max(mAll, row[i]);
        if (!kept[i]) mRest = Math.max(mRest, row[i]);
      }
      let sAll = 0;
      let sRest = 0;
      for (let i = 0; i < vocab; i++) {
        sAll += Math.exp(row[i] - mAll);
        if (!kept[i]) sRest += Math.exp(row[i] - mRest);
      }
      const lseRest = k < vocab ? mRest + Math.log(sRest) : -Infinity;
      new Float32Array(out.buffer, at + 4 * k, 1)[0] = lseRest;
      const tail = k < vocab ? Math.exp(lseRest - (mAll + Math.log(sAll))) : 0;
      stats.meanTailMass! += tail;
      if (tail > stats.maxTailMass!) stats.maxTailMass = tail;
    }
  }
  stats.rows += n;
}

/** Turns accumulated sums into the recorded statistics (the mean tail mass). */
export function finishStats(s: CodecStats): CodecStats {
  return s.meanTailMass !== undefined ? { ...s, meanTailMass: s.rows ? s.meanTailMass / s.rows : 0 } : s;
}

/**
 * Decodes `n` stored rows into dense logits.
 * @param bytes n · rowBytes bytes  @returns float32 [n, vocab]
 */
export function decodeRows(bytes: Uint8Array, n: number, vocab: number, f: RowFormat): Float32Array {
  if (f.mode === 'exact') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * vocab * 4));
  const out = new Float32Array(n * vocab);
  const rb = rowBytes(vocab, f);
  if (f.mode === 'fp16') {
    for (let r = 0; r < n; r++) {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset + r * rb, vocab);
      for (let i = 0; i < vocab; i++) out[r * vocab + i] = fromHalf(h[i]);
    }
    return out;
  }
  const k = Math.min(f.k!, vocab);
  for (let r = 0; r < n; r++) {
    const at = bytes.byteOffset + r * rb;
    const vals = new Float32Array(bytes.buffer, at, k);
    const lseRest = new Float32Array(bytes.buffer, at + 4 * k, 1)[0];
    const ids = new Uint16Array(bytes.buffer, at + 4 * k + 4, k);
    const row = out.subarray(r * vocab, (r + 1) * vocab);
    if (k < vocab) row.fill(lseRest - Math.log(vocab - k));
    for (let j = 0; j < k; j++) row[ids[j]] = vals[j];
  }
  return out;
}
