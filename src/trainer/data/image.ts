/**
 * Image loading for the trainer: PNG (pngjs) or JPEG (jpeg-js) decoded to a Float32Array of
 * RGB in [0, 1], HWC, resized to size x size (area average when shrinking, bilinear when
 * enlarging), alpha dropped. Plus an LRU cache of decoded images.
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { checkImageHeader, DEFAULT_MAX_IMAGE_PIXELS } from './imageHeader';

interface Rgba {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8Array;
}

/** Decodes a PNG or JPEG file (no size check: see {@link loadImage}). */
export function decodeImage(path: string): Rgba {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: image file not found` : `${path}: cannot read image (${(e as Error).message})`);
  }
  const isPng = bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new Error(`${path}: corrupt or unsupported ${isPng ? 'PNG' : 'JPEG'} image (${(e as Error).message})`);
  }
  throw new Error(`${path}: not a PNG or JPEG image (unrecognised file signature)`);
}

/**
 * Source taps and weights of each output index along one axis of length `inLen` -> `outLen`:
 * box (area) filter when shrinking, bilinear (half-pixel centres) when enlarging or equal.
 */
function axisWeights(inLen: number, outLen: number): { idx: number[]; w: number[] }[] {
  const scale = inLen / outLen;
  const out: { idx: number[]; w: number[] }[] = [];
  for (let o = 0; o < outLen; o++) {
    const idx: number[] = [];
    const w: number[] = [];
    if (scale > 1) {
      const a = o * scale;
      const b = (o + 1) * scale;
      for (let i = Math.floor(a); i < Math.min(inLen, Math.ceil(b)); i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 1e-9) {
          idx.push(i);
          w.push(cover / scale);
        }
      }
    } else {
      const c = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inLen - 1);
      const i0 = Math.floor(c);
      const i1 = Math.min(i0 + 1, inLen - 1);
      const f = c - i0;
      idx.push(i0);
      w.push(1 - f);
      if (f > 0) {
        idx.push(i1);
        w.push(f);
      }
    }
    out.push({ idx, w });
  }
  return out;
}

/** Resizes RGBA bytes to `size` x `size` RGB floats in [0, 1] (HWC). */
function toRgbFloat(img: Rgba, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const { width, height, data } = img;
  if (width === size && height === size) {
    for (let p = 0; p < size * size; p++) {
      out[p * 3] = data[p * 4] / 255;
      out[p * 3 + 1] = data[p * 4 + 1] / 255;
      out[p * 3 + 2] = data[p * 4 + 2] / 255;
    }
    return out;
  }
  const xs = axisWeights(width, size);
  const ys = axisWeights(height, size);
  for (let y = 0; y < size; y++) {
    const wy = ys[y];
    for (let x = 0; x < size; x++) {
      const wx = xs[x];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let a = 0; a < wy.idx.length; a++) {
        const row = wy.idx[a] * width;
        for (let c = 0; c < wx.idx.length; c++) {
          const k = (row + wx.idx[c]) * 4;
          const w = wy.w[a] * wx.w[c];
          r += w * data[k];
          g += w * data[k + 1];
          b += w * data[k + 2];
        }
      }
      const o = (y * size + x) * 3;
      out[o] = r / 255;
      out[o + 1] = g / 255;
      out[o + 2] = b / 255;
    }
  }
  return out;
}

/**
 * Loads a PNG or JPEG file as RGB floats in [0, 1].
 * @returns Float32Array of length size*size*3, HWC layout.
 */
export function loadImage(path: string, size: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Float32Array {
  if (!Number.isInteger(size) || size < 1) throw new Error(`loadImage: size must be a positive integer, found ${size}`);
  // The header first: a decompression bomb is refused before anything is allocated.
  checkImageHeader(path, maxPixels);
  return toRgbFloat(decodeImage(path), size);
}

/**
 * LRU cache of decoded images keyed by (path, size). `maxEntries` = Infinity keeps everything
 * (fine for the built-in world: 3600 images of 32x32 are about 44 MB).
 */
export class ImageCache {
  private readonly map = new Map<string, Float32Array>();

  constructor(readonly size: number, readonly maxEntries = Infinity) {}

  /** Decoded image of `path` (HWC RGB floats, length size*size*3); do not mutate it. */
  get(path: string): Float32Array {
    const hit = this.map.get(path);
    if (hit) {
      this.map.delete(path);
      this.map.set(path, hit);
      return hit;
    }
    const img = loadImage(path, this.size);
    this.map.set(path, img);
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    return img;
  }

  get entries(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
