/**
 * Formula labels of the loss terms for the dashboard legend, e.g.
 * `L_vis = mean_visual KL(p_T‖p_S) · β=1`, following the configured divergence (docs/method.md), and a
 * plain-language line on each term (what it compares, its range) for readers new to the paper.
 * Pure, unit-tested in test/webview-lossLabels.test.ts.
 */
import type { LossTerm } from '../../src/common/runFormat';
import { LOSS_WEIGHT_SYMBOLS } from '../../src/common/lossTerms';

/** Divergence formula of MDist between teacher p_T and student p_S. */
export function divergenceFormula(divergence: string): string {
  switch (divergence) {
    case 'forward_kl':
      return 'KL(p_T‖p_S)';
    case 'reverse_kl':
      return 'KL(p_S‖p_T)';
    case 'js':
      return 'JS(p_T,p_S) = ½KL(p_T‖m)+½KL(p_S‖m), m=(p_T+p_S)/2';
    case 'tv':
      return 'TV(p_T,p_S) = ½Σ|p_T−p_S|';
    case 'skew_forward_kl':
      return 'KL(p_T‖λp_T+(1−λ)p_S)';
    case 'skew_reverse_kl':
      return 'KL(p_S‖λp_S+(1−λ)p_T)';
    default:
      return `${divergence}(p_T,p_S)`;
  }
}


/** Formats a weight compactly: 1, 0.5, 1e-3. */
export function fmtWeight(w: number): string {
  if (w === 0) return '0';
  if (Math.abs(w) < 1e-3 || Math.abs(w) >= 1e4) return w.toExponential(0).replace('e+', 'e');
  return String(Number(w.toPrecision(4)));
}

/** Formula of a term without its weight. */
export function termFormula(term: LossTerm, divergence: string): string {
  const d = divergence === 'forward_kl' ? 'KL(p_T‖p_S)' : divergenceFormula(divergence).split(' = ')[0];
  switch (term) {
    case 'ce':
      return 'CE = mean_resp −log p_S(y)';
    case 'res':
      return `L_res = mean_resp ${d}`;
    case 'vis':
      return `L_vis = mean_visual ${d}`;
    case 'rel':
      return 'L_rel = 1 − cos(vec(Z_S Z_Sᵀ), vec(Z_T Z_Tᵀ))';
    case 'task':
      return 'L_task = mean attribute CE';
  }
}

/** Full label: formula and weight, e.g. `L_vis = mean_visual KL(p_T‖p_S) · β=1`. */
export function termLabel(term: LossTerm, divergence: string, weight: number | undefined): string {
  const f = termFormula(term, divergence);
  if (weight === undefined) return f;
  return `${f} · ${LOSS_WEIGHT_SYMBOLS[term]}=${fmtWeight(weight)}`;
}

const DIVERGENCE_WORDS: Record<string, string> = {
  forward_kl: 'forward KL: the student is pushed to give weight to every token the teacher finds likely',
  reverse_kl: 'reverse KL: the student is pushed onto the teacher\'s most likely tokens',
  js: 'Jensen-Shannon: symmetric, at most ln 2',
  tv: 'total variation: half the summed absolute difference of the probabilities, at most 1',
  skew_forward_kl: 'skewed forward KL: KL to a mix of both, bounded',
  skew_reverse_kl: 'skewed reverse KL: KL to a mix of both, bounded',
};

/** What a term compares and its range, in plain words (the divergence named for the MDist terms). */
export function termExplanation(term: LossTerm, divergence: string): string {
  const d = DIVERGENCE_WORDS[divergence] ?? divergence;
  switch (term) {
    case 'ce':
      return 'How well the student predicts the reference answer, token by token: its own loss, no teacher. 0 = certain and right; ln(vocabulary) ≈ guessing.';
    case 'res':
      return `How far the student's next-token probabilities on the answer are from the teacher's (${d}). 0 = the same distribution.`;
    case 'vis':
      return `The same comparison at the image-token positions: does the student read the visual tokens as the teacher does? (${d}). 0 = the same.`;
    case 'rel':
      return 'Whether the student relates the image patches to each other as the teacher does: 1 − cosine of their patch-similarity (Gram) matrices. 0 = the same structure; at most 2.';
    case 'task':
      return 'Vision pre-training only: how well the vision encoder predicts the objects\' attributes (cross-entropy). Not a distillation term.';
  }
}
