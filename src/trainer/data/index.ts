/** Public API of the data layer: the built-in world, LLaVA loading, tokenizer, images, answers. */
export * from './world';
export { loadLlavaFile, parseLlavaText, IMAGE_TOKEN } from './llava';
export type { LlavaSample, LlavaRecord, LlavaTurn, LoadLlavaOptions } from './llava';
export { KdTokenizer } from './tokenizer';
export { loadImage, ImageCache } from './image';
export { normalizeAnswer, isCorrect } from './answers';
