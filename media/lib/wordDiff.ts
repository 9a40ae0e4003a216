/**
 * Word diff of a generated answer against the ground truth, for the samples view: splits the
 * answer into words and marks the ones not matched (longest common subsequence, compared
 * case-insensitively without punctuation). Pure, unit-tested in test/webview-wordDiff.test.ts.
 */

export interface WordSegment {
  /** Text including the whitespace that follows the word. */
  text: string;
  /** True when the word is part of the common subsequence with the ground truth. */
  same: boolean;
}

/** Splits into words keeping trailing whitespace on each. */
export function tokenize(s: string): string[] {
  return s.match(/\S+\s*/g) ?? [];
}

/** Comparison key of a word: lower case, letters and digits only (a word of only punctuation keeps it). */
export function wordKey(w: string): string {
  const t = w.trim().toLowerCase();
  const k = t.replace(/[^\p{L}\p{N}]+/gu, '');
  return k || t;
}

/** Segments of `answer`, each marked same/different against `truth`. */
export function diffWords(answer: string, truth: string): WordSegment[] {
  const a = tokenize(answer);
  const b = tokenize(truth);
  const ka = a.map(wordKey);
  const kb = b.map(wordKey);
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const lcs: Uint16Array[] = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = ka[i] === kb[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: WordSegment[] = [];
  let i = 0;
  let j = 0;
  while (i < n) {
    if (j < m && ka[i] === kb[j]) {
      out.push({ text: a[i], same: true });
      i++;
      j++;
    } else if (j < m && lcs[i][j + 1] > lcs[i + 1][j]) {
      j++;
    } else {
      out.push({ text: a[i], same: false });
      i++;
    }
  }
  return out;
}

/** True when the answer equals the truth up to case, punctuation and spacing. */
export function sameAnswer(answer: string, truth: string): boolean {
  return tokenize(answer).map(wordKey).join(' ') === tokenize(truth).map(wordKey).join(' ');
}
