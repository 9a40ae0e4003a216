/**
 * What an image file claims before it is decoded: its format (PNG or JPEG, from the signature)
 * and its pixel size (PNG: the IHDR chunk; JPEG: the first start-of-frame marker). Lets the
 * loaders refuse a text file named `.png`, a truncated header or a decompression bomb (a tiny
 * file claiming 20000 × 20000 pixels) before allocating anything.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** Images above this many pixels are refused unless `data.maxImagePixels` says otherwise (6000 × 6000). */
export const DEFAULT_MAX_IMAGE_PIXELS = 36_000_000;

/** Reads up to `n` bytes from the start of `path`. */
function head(path: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: image file not found` : code === 'EISDIR' ? `${path}: is a folder, not an image file` : `${path}: cannot read image (${(e as Error).message})`);
  }
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * The format and size an image file's header declares.
 * @throws an Error naming the file and what is wrong (missing, not PNG/JPEG, truncated header)
 */
export function readImageHeader(path: string): ImageHeader {
  let b = head(path, 64 * 1024);
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) {
    if (b.length < 24 || b.toString('latin1', 12, 16) !== 'IHDR') throw new Error(`${path}: truncated or corrupt PNG (no IHDR chunk after the signature)`);
    return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    // Walk the marker segments to the first SOFn (C0–CF except C4 DHT, C8 JPG, CC DAC).
    for (let pass = 0; pass < 2; pass++) {
      let at = 2;
      while (at + 4 <= b.length) {
        if (b[at] !== 0xff) break;
        const marker = b[at + 1];
        if (marker === 0xff) { at++; continue; }
        if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue; }
        if (marker === 0xd9 || marker === 0xda) break;
        const len = b.readUInt16BE(at + 2);
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
          if (at + 9 > b.length) break;
          return { format: 'jpeg', height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
        }
        at += 2 + len;
      }
      // Large metadata (EXIF thumbnails) can push the frame header past the first 64 KB.
      if (pass === 0 && b.length === 64 * 1024) b = head(path, 4 * 1024 * 1024);
      else break;
    }
    throw new Error(`${path}: truncated or corrupt JPEG (no frame header with the image size)`);
  }
  throw new Error(`${path}: not a PNG or JPEG image (unrecognised file signature${b.length === 0 ? ': the file is empty' : ''})`);
}

/**
 * The header, checked against a pixel budget.
 * @throws when the header is bad, the size is 0, or width × height exceeds `maxPixels`
 */
export function checkImageHeader(path: string, maxPixels: number): ImageHeader {
  const h = readImageHeader(path);
  if (h.width === 0 || h.height === 0) throw new Error(`${path}: ${h.format.toUpperCase()} header declares an empty image (${h.width} × ${h.height})`);
  if (h.width * h.height > maxPixels) {
    throw new Error(`${path}: ${h.format.toUpperCase()} header declares ${h.width} × ${h.height} = ${(h.width * h.height / 1e6).toFixed(1)} M pixels, above the limit of ${(maxPixels / 1e6).toFixed(1)} M (data.maxImagePixels); refused before decoding`);
  }
  return h;
}
