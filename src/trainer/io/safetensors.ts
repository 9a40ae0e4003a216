/**
 * Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  UTF-8 JSON header { name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {str: str} },
 *            padded with spaces so the data starts at a multiple of 8
 *   rest     raw little-endian tensor data; offsets are relative to the data start.
 * The writer lays tensors out in sorted name order, contiguous, and writes the file atomically.
 * The reader validates the header against the file size (truncation, overlaps, gaps, sizes) and
 * converts F16/BF16/F64 to F32, I64 to I32 (range-checked), BOOL to U8.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeFileAtomic } from '../../common/atomic';

/** Dtypes the reader understands (as stored in the file). */
export type StoredDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8' | 'BOOL';
/** Dtypes of tensors returned by the reader (after conversion). */
export type LoadedDtype = 'F32' | 'I32' | 'U8';

export type WritableTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array };

export interface LoadedTensor {
  dtype: LoadedDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
  /** The dtype stored in the file (e.g. `BF16` for a tensor returned as `F32`). */
  sourceDtype: StoredDtype;
}

export interface HeaderEntry {
  dtype: StoredDtype;
  shape: number[];
  /** [begin, end) byte offsets relative to the data start. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  file: string;
  tensors: Record<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Header length N (bytes of JSON incl. padding). */
  headerLength: number;
  /** Absolute byte offset of the data buffer in the file (8 + N). */
  dataStart: number;
  fileSize: number;
}

export interface SafetensorsFile {
  tensors: Record<string, LoadedTensor>;
  metadata: Record<string, string>;
}

/** Error for a bad safetensors file; the message starts with the file path. */
export class SafetensorsError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`safetensors file ${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

const DTYPE_SIZE: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, U8: 1, BOOL: 1 };
/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * Write `tensors` (and optional string metadata) to `file` atomically.
 * Tensors are laid out in sorted name order; `data.length` must equal the product of `shape`.
 */
export function writeSafetensors(
  file: string,
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new Error(`writeSafetensors(${file}): metadata "${k}" must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const where = `writeSafetensors(${file}): tensor "${name}"`;
    if (name === '' || name === '__metadata__') throw new Error(`${where}: invalid tensor name`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    if (t.dtype === 'F32' ? !(t.data instanceof Float32Array) : t.dtype === 'I32' ? !(t.data instanceof Int32Array) : true) {
      throw new Error(`${where}: dtype ${String(t.dtype)} needs ${t.dtype === 'I32' ? 'an Int32Array' : 'a Float32Array'} (only F32 and I32 are written)`);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) {
      throw new Error(`${where}: shape [${t.shape.join(',')}] has ${numel} elements but data has ${t.data.length}`);
    }
    const bytes = toLittleEndianBytes(t.data);
    header[name] = { dtype: t.dtype, shape: t.shape.slice(), data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBuf = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.byteLength));
  writeFileAtomic(file, [lenBuf, headerBuf, ...chunks]);
}

function toLittleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  const isF = data instanceof Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (isF) dv.setFloat32(i * 4, data[i], true);
    else dv.setInt32(i * 4, data[i], true);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Header parsing and validation

function readAll(fd: number, buf: Uint8Array, position: number): number {
  let got = 0;
  while (got < buf.byteLength) {
    const n = fs.readSync(fd, buf, got, buf.byteLength - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Read the header length from the first 8 bytes and check it against the file size. */
function headerLengthOf(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new SafetensorsError(file, `truncated file: ${fileSize} bytes, shorter than the 8-byte header length field`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(file, `truncated file: header length ${n} bytes is beyond the file size (${fileSize} bytes, ${fileSize - 8} after the length field)`);
  }
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(file, `header length ${n} bytes exceeds the ${MAX_HEADER}-byte limit`);
  if (n < 2n) throw new SafetensorsError(file, `bad JSON header: header length is ${n} bytes`);
  return Number(n);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parse and validate the JSON header against the file size. */
function parseHeader(file: string, headerBytes: Uint8Array, headerLength: number, fileSize: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(file, `bad JSON header (${headerLength} bytes): ${(e as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new SafetensorsError(file, 'bad JSON header: expected a JSON object');
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, HeaderEntry> = {};
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) throw new SafetensorsError(file, 'bad JSON header: "__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `bad JSON header: __metadata__."${k}" must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(raw)) throw new SafetensorsError(file, `bad JSON header: ${where} must be an object with dtype, shape, data_offsets`);
    const { dtype, shape, data_offsets: offs } = raw;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
      throw new SafetensorsError(file, `${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new SafetensorsError(file, `bad JSON header: ${where} shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      throw new SafetensorsError(file, `bad JSON header: ${where} data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`);
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = numel * DTYPE_SIZE[dtype as StoredDtype];
    const [begin, end] = offs as [number, number];
    if (end - begin !== expected) {
      throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(',')}] of ${dtype} needs ${expected}`);
    }
    if (end > dataSize) {
      throw new SafetensorsError(file, `truncated file: ${where} data_offsets [${begin}, ${end}] are beyond the file size (data buffer has ${dataSize} bytes, file ${fileSize})`);
    }
    tensors[name] = { dtype: dtype as StoredDtype, shape: (shape as number[]).slice(), dataOffsets: [begin, end] };
  }
  // Tensors must tile the data buffer exactly: no overlap, no gap, no trailing bytes.
  const order = Object.entries(tensors).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let pos = 0;
  let prev = '';
  for (const [name, e] of order) {
    const [begin, end] = e.dataOffsets;
    if (begin < pos) throw new SafetensorsError(file, `tensor "${name}" data_offsets [${begin}, ${end}] overlap tensor "${prev}" (which ends at ${pos})`);
    if (begin > pos) throw new SafetensorsError(file, `gap in data: bytes [${pos}, ${begin}) belong to no tensor (before tensor "${name}")`);
    pos = end;
    prev = name;
  }
  if (pos !== dataSize) {
    throw new SafetensorsError(file, `data buffer has ${dataSize} bytes but the tensors cover ${pos} (${dataSize - pos} trailing bytes)`);
  }
  return { file, tensors, metadata, headerLength, dataStart, fileSize };
}

/** Read and validate only the header of `file` (cheap even for large checkpoints). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const first8 = new Uint8Array(8);
    readAll(fd, first8, 0);
    const n = headerLengthOf(file, first8, size);
    const hb = new Uint8Array(n);
    if (readAll(fd, hb, 8) !== n) throw new SafetensorsError(file, 'truncated file: could not read the whole header (file changed while reading?)');
    return parseHeader(file, hb, n, size);
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Data decoding

let halfTable: Float32Array | undefined;

/** IEEE 754 binary16 bits -> number. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits -> number (the top 16 bits of a float32). */
export function bf16ToF32(b: number): number {
  const u = new Uint32Array([(b & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0];
}

/** Copy `len` little-endian bytes at `bytes[off..]` into a fresh aligned ArrayBuffer. */
function copyBytes(bytes: Uint8Array, off: number, len: number): ArrayBuffer {
  const out = new Uint8Array(len);
  out.set(bytes.subarray(off, off + len));
  return out.buffer;
}

function decode(file: string, name: string, e: HeaderEntry, bytes: Uint8Array, base: number): LoadedTensor {
  const off = base + e.dataOffsets[0];
  const len = e.dataOffsets[1] - e.dataOffsets[0];
  const n = len / DTYPE_SIZE[e.dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, len);
  const shape = e.shape.slice();
  switch (e.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'F32', shape, data: new Float32Array(copyBytes(bytes, off, len)), sourceDtype: 'F32' };
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return { dtype: 'F32', shape, data: out, sourceDtype: 'F32' };
    }
    case 'I32': {
      if (LITTLE_ENDIAN_HOST) return { dtype: 'I32', shape, data: new Int32Array(copyBytes(bytes, off, len)), sourceDtype: 'I32' };
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return { dtype: 'I32', shape, data: out, sourceDtype: 'I32' };
    }
    case 'F16': {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let h = 0; h < 65536; h++) halfTable[h] = f16ToF32(h);
      }
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfTable[dv.getUint16(i * 2, true)];
      return { dtype: 'F32', shape, data: out, sourceDtype: 'F16' };
    }
    case 'BF16': {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return { dtype: 'F32', shape, data: new Float32Array(bits.buffer), sourceDtype: 'BF16' };
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return { dtype: 'F32', shape, data: out, sourceDtype: 'F64' };
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new SafetensorsError(file, `tensor "${name}" (I64) element ${i} = ${v} does not fit in int32`);
        }
        out[i] = Number(v);
      }
      return { dtype: 'I32', shape, data: out, sourceDtype: 'I64' };
    }
    case 'U8':
    case 'BOOL':
      return { dtype: 'U8', shape, data: new Uint8Array(copyBytes(bytes, off, len)), sourceDtype: e.dtype };
  }
}

/**
 * Read a whole safetensors file. Throws `SafetensorsError` (message names the file and the problem)
 * for truncated files, bad headers, inconsistent/overlapping/gapped offsets and unsupported dtypes.
 */
export function readSafetensors(file: string): SafetensorsFile {
  const bytes = fs.readFileSync(file);
  const n = headerLengthOf(file, bytes.subarray(0, 8), bytes.byteLength);
  const header = parseHeader(file, bytes.subarray(8, 8 + n), n, bytes.byteLength);
  const tensors: Record<string, LoadedTensor> = {};
  for (const [name, e] of Object.entries(header.tensors)) tensors[name] = decode(file, name, e, bytes, header.dataStart);
  return { tensors, metadata: header.metadata };
}
