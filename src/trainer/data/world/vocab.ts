/**
 * The closed vocabulary of the procedural world: shapes, colours (with their RGB values),
 * sizes and the 3x3 grid of positions, plus the phrases used to talk about them.
 */

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

/** Plural forms used by counting questions. */
export const SHAPE_PLURAL: Record<Shape, string> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  diamond: 'diamonds',
  cross: 'crosses',
};

/** Colours with their exact rendered RGB (objects are flat-coloured). */
export const COLORS = {
  red: [220, 40, 40],
  green: [40, 180, 60],
  blue: [50, 90, 235],
  yellow: [240, 220, 40],
  purple: [150, 60, 200],
  orange: [245, 140, 20],
  white: [245, 245, 245],
} as const satisfies Record<string, readonly [number, number, number]>;
export type Color = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as Color[];

export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** Background grey level (before noise) and the max absolute noise added per channel. */
export const BACKGROUND_LEVEL = 32;
export const BACKGROUND_NOISE = 6;

/** Grid cell index 0..8 in reading order: row = floor(cell / 3), col = cell % 3. */
export type Cell = number;

/** Short answer naming a cell ("where is ...?"). */
export const CELL_NAMES = [
  'top left', 'top', 'top right',
  'left', 'center', 'right',
  'bottom left', 'bottom', 'bottom right',
] as const;

/** Phrase placing an object in a cell, used in captions and referring expressions. */
export const CELL_PHRASES = [
  'at the top left', 'at the top', 'at the top right',
  'on the left', 'in the center', 'on the right',
  'at the bottom left', 'at the bottom', 'at the bottom right',
] as const;

/** Text of the chat template and a default system line, added to the vocabulary. */
export const TEMPLATE_TEXTS = [
  'USER: ASSISTANT:',
  'A chat between a curious user and an artificial intelligence assistant. ' +
    "The assistant gives helpful, short and polite answers to the user's questions.",
];
