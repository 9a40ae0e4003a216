/**
 * Rasterises a scene into an RGB byte image (HWC, no anti-aliasing; a pixel takes an object's
 * colour when more than half of it is covered): a dark grey background
 * with slight seeded noise and flat-coloured shapes. Also exposes the exact shape test so
 * that tests can check pixels against the scene.
 */
import type { Rng } from './prng';
import type { Scene, SceneObject } from './scene';
import { BACKGROUND_LEVEL, BACKGROUND_NOISE, COLORS, type Shape } from './vocab';

/** Whether the point (dx, dy) relative to a shape's centre lies inside a shape of radius r. */
export function shapeContains(shape: Shape, dx: number, dy: number, r: number): boolean {
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return ax <= 0.85 * r && ay <= 0.85 * r;
    case 'triangle':
      // Apex up at (0, -r), base at dy = 0.75 r with half-width r.
      return dy >= -r && dy <= 0.75 * r && ax <= ((dy + r) / (1.75 * r)) * r;
    case 'diamond':
      return ax + ay <= r;
    case 'cross':
      return (ax <= 0.33 * r && ay <= r) || (ay <= 0.33 * r && ax <= r);
  }
}

/** Sub-samples per pixel side used to measure coverage. */
const SUB = 4;

/** Fraction of pixel (x, y) covered by the object (SUB x SUB sub-samples). */
export function pixelCoverage(o: SceneObject, x: number, y: number): number {
  let hits = 0;
  for (let j = 0; j < SUB; j++) {
    for (let i = 0; i < SUB; i++) {
      if (shapeContains(o.shape, x + (i + 0.5) / SUB - o.cx, y + (j + 0.5) / SUB - o.cy, o.r)) hits++;
    }
  }
  return hits / (SUB * SUB);
}

/** Whether pixel (x, y) is painted with the object's colour (more than half covered). */
export function objectCoversPixel(o: SceneObject, x: number, y: number): boolean {
  return pixelCoverage(o, x, y) > 0.5;
}

/**
 * Renders `scene` at `size` x `size`.
 * @returns RGB bytes, length size*size*3, row-major HWC.
 */
export function renderScene(scene: Scene, size: number, rng: Rng): Uint8Array {
  const px = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const v = BACKGROUND_LEVEL + rng.int(-BACKGROUND_NOISE, BACKGROUND_NOISE);
    px[i * 3] = v;
    px[i * 3 + 1] = v;
    px[i * 3 + 2] = v;
  }
  for (const o of scene.objects) {
    const [cr, cg, cb] = COLORS[o.color];
    const x0 = Math.max(0, Math.floor(o.cx - o.r - 1));
    const x1 = Math.min(size - 1, Math.ceil(o.cx + o.r + 1));
    const y0 = Math.max(0, Math.floor(o.cy - o.r - 1));
    const y1 = Math.min(size - 1, Math.ceil(o.cy + o.r + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (!objectCoversPixel(o, x, y)) continue;
        const k = (y * size + x) * 3;
        px[k] = cr;
        px[k + 1] = cg;
        px[k + 2] = cb;
      }
    }
  }
  return px;
}
