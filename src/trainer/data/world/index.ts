/** Public API of the procedural image-text world. */
export { generateWorld, generateScenes, buildRecords, renderWorldImage, readWorldMeta, readWorldScenes, validateWorldConfig, imagePath, recordTexts, worldRng, WORLD_FILES, WORLD_GENERATOR_VERSION, HELD_OUT_COUNT } from './generate';
export type { WorldMeta, WorldScenes, WorldRecords, SplitCounts, GenerateOptions, Split } from './generate';
export type { Scene, SceneObject, Combo } from './scene';
export { comboKey } from './scene';
export { caption, QUESTION_TYPES } from './text';
export type { QuestionType } from './text';
export { shapeContains, objectCoversPixel } from './render';
export { buildTokenizerJson, SPECIAL_TOKENS } from './tokenizerJson';
export { SHAPES, COLORS, COLOR_NAMES, SIZES, CELL_NAMES, CELL_PHRASES, TEMPLATE_TEXTS } from './vocab';
export type { Shape, Color, Size } from './vocab';
