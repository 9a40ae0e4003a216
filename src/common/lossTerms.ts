/**
 * The loss terms, named once: their order, the names the dashboard and e2e tests use, the symbol
 * of each weight (α β γ as in the paper) and the formula of the distilled stages' total loss.
 * Pure, shared by the trainer's config schema, the host and the webviews.
 */
import type { LossTerm } from './runFormat';

/** Every loss term in display order. */
export const LOSS_TERMS: readonly LossTerm[] = ['ce', 'res', 'vis', 'rel', 'task'];

/** Series names of the loss terms in the dashboard (e2e tests look for these). */
export const LOSS_SERIES_NAMES: Record<LossTerm | 'total', string> = {
  ce: 'CE',
  res: 'MDist-response',
  vis: 'MDist-visual',
  rel: 'RDist',
  task: 'Task',
  total: 'Total',
};

/** Symbol of each term's weight (`w` for the terms the paper does not weight). */
export const LOSS_WEIGHT_SYMBOLS: Record<LossTerm, string> = { ce: 'w', res: 'α', vis: 'β', rel: 'γ', task: 'w' };

/** The overall objective, shown wherever the loss weights are. */
export const TOTAL_LOSS_FORMULA = 'Total = CE + α·L_res + β·L_vis + γ·L_rel';
