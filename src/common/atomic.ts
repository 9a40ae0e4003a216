/**
 * Durable file writes for run folders: `writeFileAtomic` (temp file + fsync + rename, so a reader
 * never sees a half-written file under the final name) and `appendLine` / `appendText` (one write
 * per call on an fd opened for append, then fsync, so earlier lines are never touched).
 * Synchronous on purpose: the trainer calls these between steps and wants them done on return;
 * the extension writes run-meta.json with the same function (one temp-file naming, which the
 * trainer's stale-temp clean-up on resume knows).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Data accepted by `writeFileAtomic`: a string (UTF-8), bytes, or a list of byte chunks written in order. */
export type AtomicData = string | Uint8Array | readonly Uint8Array[];

/** Codes a rename over an existing file may fail with on Windows while a reader holds the target open. */
const RETRY_CODES = new Set(['EPERM', 'EACCES', 'EBUSY']);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Write all of `buf` at the fd's current position (loops on short writes); a full disk is an error naming `file`. */
function writeAll(fd: number, buf: Uint8Array, file: string): void {
  let off = 0;
  try {
    while (off < buf.byteLength) off += fs.writeSync(fd, buf, off, buf.byteLength - off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
    const err = new Error(`disk full (${code}) while writing ${file}: free space on that disk, then resume the run (earlier files are intact)`) as NodeJS.ErrnoException;
    err.code = code;
    throw err;
  }
}

/** fsync a directory so a rename inside it survives a power loss. Best effort (not possible on Windows). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* directories cannot be opened/fsynced on some platforms; the rename is still atomic */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Rename with a few short retries for transient Windows sharing violations. */
function renameWithRetry(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!RETRY_CODES.has(code) || attempt >= 10) throw e;
      sleepSync(10 * (attempt + 1));
    }
  }
}

/**
 * Replace `file` with `data` atomically: the data goes to `<file>.tmp-<pid>-<rand>` in the same
 * folder, is fsynced, then renamed over `file`. On any error the temp file is removed and `file`
 * keeps its previous content (or stays absent). The parent folder must exist.
 */
export function writeFileAtomic(file: string, data: AtomicData): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const chunks: readonly Uint8Array[] =
    typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    for (const c of chunks) writeAll(fd, c, file);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    renameWithRetry(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* temp file may not exist */
    }
    throw e;
  }
  fsyncDir(path.dirname(file));
}

export interface AppendOptions {
  /** fsync after the write (default true). With false the data is still handed to the OS before return. */
  fsync?: boolean;
}

/**
 * Append `text` to `file` (created if absent) with a single write on an fd opened with 'a',
 * then fsync. Never truncates: existing content is kept byte for byte.
 */
export function appendText(file: string, text: string, opts: AppendOptions = {}): void {
  const buf = Buffer.from(text, 'utf8');
  const fd = fs.openSync(file, 'a');
  try {
    writeAll(fd, buf, file);
    if (opts.fsync !== false) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Append one JSON line (`JSON.stringify(obj) + '\n'`) to `file`. One line per call, one write per line,
 * so a concurrent reader sees either nothing or a complete line (or, after a crash, a partial last line
 * that `readJsonl` skips). Note JSON turns NaN/Infinity into null.
 */
export function appendLine(file: string, obj: unknown, opts: AppendOptions = {}): void {
  const json = JSON.stringify(obj);
  if (json === undefined) throw new Error(`appendLine(${file}): value is not JSON-serialisable (got ${typeof obj})`);
  appendText(file, json + '\n', opts);
}

/**
 * Removes the temp files `writeFileAtomic` left in `dir` (`<name>.tmp-<pid>-<hex>`) and the temp
 * folders of world generation (`.<name>.tmp-<pid>-<n>`, `.<name>.old-<pid>-<n>`) whose writer
 * is dead (killed mid-write). Files of live processes are left alone.
 * @returns the paths removed
 */
export function removeStaleTemps(dir: string, isAlive: (pid: number) => boolean): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(n) ?? /^\..+\.(?:tmp|old)-(\d+)-\d+$/.exec(n);
    if (!m || isAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    removed.push(path.join(dir, n));
  }
  return removed;
}
