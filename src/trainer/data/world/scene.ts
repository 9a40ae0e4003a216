/**
 * Scenes of the procedural world: which objects an image holds (shape, colour, size, grid
 * cell, exact centre and radius in pixels), sampled from a seeded Rng. One object per grid
 * cell and every object stays inside its cell, so objects never overlap.
 */
import { Rng } from './prng';
import { COLOR_NAMES, SHAPES, SIZES, type Cell, type Color, type Shape, type Size } from './vocab';

export interface SceneObject {
  shape: Shape;
  color: Color;
  size: Size;
  /** Grid cell 0..8 in reading order (row = floor(cell/3), col = cell % 3). */
  cell: Cell;
  /** Centre in pixels (x to the right, y down), radius in pixels. */
  cx: number;
  cy: number;
  r: number;
}

export interface Scene {
  /** Image id, e.g. `train-000012`. */
  id: string;
  split: 'train' | 'val' | 'test';
  /** Objects sorted by cell (reading order). */
  objects: SceneObject[];
}

/** A (colour, shape) combination. */
export interface Combo {
  color: Color;
  shape: Shape;
}

export const comboKey = (c: Combo): string => `${c.color} ${c.shape}`;

/** Radius of a small / large object as a fraction of the cell side. */
const RADIUS_FRACTION: Record<Size, number> = { small: 0.3, large: 0.44 };

/** Every (colour, shape) combination, colour-major. */
export function allCombos(): Combo[] {
  return COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => ({ color, shape })));
}

/**
 * Chooses `n` held-out combos with pairwise distinct colours and shapes, so every colour and
 * every shape still appears in training with other partners.
 */
export function chooseHeldOut(rng: Rng, n: number): Combo[] {
  const colors = rng.shuffle(COLOR_NAMES).slice(0, n);
  const shapes = rng.shuffle(SHAPES).slice(0, n);
  return colors.map((color, i) => ({ color, shape: shapes[i] })).sort((a, b) => comboKey(a).localeCompare(comboKey(b)));
}

/** Places one object of the given attributes in `cell` of a `size`-pixel image. */
export function placeObject(rng: Rng, imageSize: number, combo: Combo, objSize: Size, cell: Cell): SceneObject {
  const cs = imageSize / 3;
  const r = RADIUS_FRACTION[objSize] * cs;
  const margin = Math.max(0, (cs / 2 - r - 0.5) * 0.8);
  const col = cell % 3;
  const row = Math.floor(cell / 3);
  const round = (v: number): number => Math.round(v * 100) / 100;
  return {
    shape: combo.shape,
    color: combo.color,
    size: objSize,
    cell,
    cx: round((col + 0.5) * cs + rng.range(-margin, margin)),
    cy: round((row + 0.5) * cs + rng.range(-margin, margin)),
    r: round(r),
  };
}

/**
 * Samples one scene with 1..maxObjects objects in distinct cells. Combos come from `allowed`;
 * when `forced` is given, one of the objects has that combo.
 */
export function sampleScene(
  rng: Rng,
  id: string,
  split: Scene['split'],
  imageSize: number,
  maxObjects: number,
  allowed: readonly Combo[],
  forced?: Combo,
): Scene {
  const n = rng.int(1, maxObjects);
  const cells = rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8]).slice(0, n);
  const objects = cells.map((cell, i) => {
    const combo = i === 0 && forced ? forced : rng.pick(allowed);
    return placeObject(rng, imageSize, combo, rng.pick(SIZES), cell);
  });
  objects.sort((a, b) => a.cell - b.cell);
  return { id, split, objects };
}
