/** Short-answer normalisation and exact-match scoring for the world's questions. */

/** Lowercases, trims, strips trailing punctuation and collapses inner whitespace. */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.,!?;:'"]+$/u, '')
    .trim();
}

/** Exact match after normalisation. */
export function isCorrect(pred: string, truth: string): boolean {
  return normalizeAnswer(pred) === normalizeAnswer(truth);
}
