/**
 * Rows of the dashboard's loss-term table: which terms the selected stage trained with and
 * their last raw and weighted values there. With one stage chosen the values come from that
 * stage; with several (all, distillation stages, a track), from the latest of them the run has
 * logged (a term of an earlier stage, such as the vision stage's Task loss, is not shown as if it
 * were current).
 * Pure, unit-tested in test/webview-termTable.test.ts.
 */
import type { LossTerm } from '../../src/common/runFormat';
import type { MetricsColumns } from '../../src/common/messages';
import { LOSS_TERMS } from '../../src/common/lossTerms';
import { stageShown } from './stageFilter';

export interface TermRow {
  term: LossTerm;
  raw: number;
  weighted: number | null;
}

export interface TermTable {
  /** The stage the values are from, or null when the run has no metrics (in the chosen stage). */
  stage: string | null;
  rows: TermRow[];
}

/** The term table of `c` for the Stage filter value `filter` (see stageFilter.ts). */
export function termTable(c: Pick<MetricsColumns, 'stages' | 'stage' | 'raw' | 'weighted'>, filter: string): TermTable {
  const n = c.stage.length;
  let si = -1;
  for (let i = n - 1; i >= 0 && si < 0; i--) if (stageShown(filter, c.stages[c.stage[i]])) si = c.stage[i];
  if (si < 0) return { stage: null, rows: [] };
  const rows: TermRow[] = [];
  for (const term of LOSS_TERMS) {
    for (let i = n - 1; i >= 0; i--) {
      if (c.stage[i] !== si) continue;
      const raw = c.raw[term][i];
      if (raw === null) continue;
      rows.push({ term, raw, weighted: c.weighted[term][i] });
      break;
    }
  }
  return { stage: c.stages[si], rows };
}
