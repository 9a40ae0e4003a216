/**
 * Rows of the dashboard's loss-term table: which terms the selected stage trained with and
 * their last raw and weighted values there. With one stage chosen the values come from that
 * stage; with all stages, from the run's latest stage (a term of an earlier stage, such as the
 * vision stage's Task loss, is not shown as if it were current).
 * Pure, unit-tested in test/host-termTable.test.ts.
 */
import type { LossTerm } from '../../src/common/runFormat';
import { LOSS_TERMS, type MetricsColumns } from '../../src/common/messages';

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

/** The term table of `c` for the Stage filter value `stage` ('all' or a stage id). */
export function termTable(c: Pick<MetricsColumns, 'stages' | 'stage' | 'raw' | 'weighted'>, stage: string): TermTable {
  const n = c.stage.length;
  const si = stage === 'all' ? (n ? c.stage[n - 1] : -1) : c.stages.indexOf(stage);
  if (si < 0 || !c.stage.includes(si)) return { stage: null, rows: [] };
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
