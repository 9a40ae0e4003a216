/**
 * Rows of the config-diff table: the union of flattened keys of all columns, which rows differ,
 * and the filters (differences only, key search). Pure, unit-tested in test/webview-configTable.test.ts.
 */
import type { ConfigColumn } from '../../src/common/messages';

export type CellValue = string | number | boolean | undefined;

export interface ConfigRow {
  key: string;
  values: CellValue[];
  /** Values are not all equal (a key missing from some column counts as a difference). */
  differs: boolean;
}

/** All keys sorted, with one value per column. */
export function buildRows(columns: readonly Pick<ConfigColumn, 'values'>[]): ConfigRow[] {
  const keys = new Set<string>();
  for (const c of columns) for (const k of Object.keys(c.values)) keys.add(k);
  return [...keys].sort().map((key) => {
    const values = columns.map((c) => (Object.prototype.hasOwnProperty.call(c.values, key) ? c.values[key] : undefined));
    const differs = values.some((v) => v !== values[0] || (v === undefined) !== (values[0] === undefined));
    return { key, values, differs };
  });
}

/**
 * Rows left by the filters. The search matches keys and displayed values case-insensitively;
 * several words must all match.
 */
export function filterRows(rows: readonly ConfigRow[], differencesOnly: boolean, search: string): ConfigRow[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  return rows.filter((r) => {
    if (differencesOnly && !r.differs) return false;
    if (!words.length) return true;
    const hay = `${r.key} ${r.values.map(formatCell).join(' ')}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Display text of a cell: `—` when missing, strings quoted only when empty. */
export function formatCell(v: CellValue): string {
  if (v === undefined) return '—';
  if (v === '') return '""';
  return String(v);
}
