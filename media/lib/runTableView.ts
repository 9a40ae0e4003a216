/**
 * DOM of the dashboard's run table (rows from runTable.ts): a checkbox per row that picks what
 * the charts show, the run's colour, the differing config values, accuracies as mean ± std with
 * N for seed groups, gap closed, and KD − baseline / KD − control as "+4.2 [+1.0, +7.4] better";
 * headers sort on click (again: the other direction), with aria-sort for screen readers.
 */
import type { Interval } from '../../src/common/stats';
import { h } from './dom';
import { verdict, versusReference, type SortColumn, type TableRow } from './runTable';

export interface RunTableViewOptions {
  rows: TableRow[];
  /** The differing config keys (columns). */
  keys: string[];
  /** Question types of the per-type columns. */
  types: string[];
  sort: { column: SortColumn; dir: 'asc' | 'desc' };
  isShown: (row: TableRow) => boolean;
  colorOf: (row: TableRow) => string;
  /** Tags of the row's runs (shown as #tag after its label). */
  tagsOf: (row: TableRow) => string[];
  onSort: (column: SortColumn) => void;
  onToggle: (row: TableRow, shown: boolean) => void;
  /** The row the others are compared with (its id), and how the user picks it. */
  refId: string | null;
  onRef: (row: TableRow) => void;
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const pts = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}`;

/** "61.0%" for one run, "60.0% ± 2.0 (N=3)" for a group. */
export function accText(i: Interval | undefined): string {
  if (!i) return '—';
  return i.n > 1 ? `${pct(i.mean)} ± ${(i.std * 100).toFixed(1)} (N=${i.n})` : pct(i.mean);
}

/** "+4.2 points" for one seed, "+4.2 [+1.0, +7.4] better" over seeds. */
export function diffText(d: Interval | undefined): string {
  if (!d) return '—';
  const v = verdict(d);
  if (v === 'one seed') return `${pts(d.mean)} (1 seed)`;
  return `${pts(d.mean)} [${pts(d.lo)}, ${pts(d.hi)}] ${v === 'unclear' ? 'no clear difference' : v}`;
}

/** Short header for a config key: its last two parts (`dft.loss.rel` → `loss.rel`), the full key in the tooltip. */
const shortKey = (k: string): string => k.split('.').slice(-2).join('.');

export function renderRunTable(table: HTMLTableElement, o: RunTableViewOptions): void {
  table.replaceChildren();
  table.append(h('caption', { class: 'sr-only' }, 'Runs: config differences and results; the checkbox picks what the charts show'));
  const cols: { id: SortColumn | null; label: string; title: string }[] = [
    { id: null, label: '', title: 'Shown in the charts' },
    { id: 'label', label: 'Run', title: 'Run (or seed group)' },
    ...o.keys.map((k) => ({ id: `config:${k}` as SortColumn, label: shortKey(k), title: `config: ${k}` })),
    { id: 'valKd', label: 'val (kd)', title: 'Final validation accuracy of the distilled student' },
    { id: 'testKd', label: 'test (kd)', title: 'Final test accuracy of the distilled student' },
    ...o.types.map((t) => ({ id: `type:${t}` as SortColumn, label: t, title: `Test accuracy of the student on ${t} questions` })),
    { id: 'teacher', label: 'teacher', title: 'Final test accuracy of the teacher' },
    { id: 'baseline', label: 'baseline', title: 'Final test accuracy of the baseline student (PT → SFT, no teacher)' },
    { id: 'gap', label: 'gap closed', title: '(kd − baseline) / (teacher − baseline): the fraction of the teacher − baseline gap the distilled student closes' },
    { id: 'kdMinusBaseline', label: 'KD − baseline', title: 'Test accuracy points, paired by seed, with the 95 % interval over seeds' },
    { id: 'kdMinusControl', label: 'KD − control', title: 'Against a CE-only control of the same steps (a shown run whose kd track has no DPT/DFT), paired by seed' },
    { id: null, label: 'vs reference', title: 'Test accuracy (kd) minus the reference row\'s: paired by seed when both have the same seeds, else Welch\'s interval; pick the reference with the radio button' },
  ];
  const head = h('tr', {});
  for (const c of cols) {
    const sorted = c.id !== null && o.sort.column === c.id;
    const th = h('th', { scope: 'col', title: c.title, 'data-col': c.id ?? 'show', 'aria-sort': sorted ? (o.sort.dir === 'asc' ? 'ascending' : 'descending') : undefined });
    if (c.id !== null) {
      const id = c.id;
      th.append(h('button', { class: 'sort-button', onclick: () => o.onSort(id) }, c.label, sorted ? (o.sort.dir === 'asc' ? ' ▲' : ' ▼') : ''));
    } else if (c.label) {
      th.setAttribute('data-col', 'vsRef');
      th.append(c.label);
    }
    head.append(th);
  }
  table.append(h('thead', {}, head));
  const body = h('tbody', {});
  for (const r of o.rows) {
    const shown = o.isShown(r);
    const cb = h('input', { type: 'checkbox', 'aria-label': `Show ${r.label} in the charts`, checked: shown }) as HTMLInputElement;
    cb.addEventListener('change', () => o.onToggle(r, cb.checked));
    const cells: HTMLElement[] = [
      h('td', {}, cb),
      h('td', { class: 'run-cell', title: r.keys.join('\n') }, h('span', { class: 'swatch', style: `background:${o.colorOf(r)}` }), ' ', r.label, r.control ? h('span', { class: 'tag' }, 'control') : null, ...o.tagsOf(r).map((t) => h('span', { class: 'tag user-tag' }, `#${t}`))),
      ...o.keys.map((k) => h('td', { class: 'mono' }, r.config[k] ?? '—')),
      h('td', { class: 'mono', 'data-col': 'valKd' }, accText(r.valKd)),
      h('td', { class: 'mono', 'data-col': 'testKd' }, accText(r.testKd)),
      ...o.types.map((t) => h('td', { class: 'mono' }, accText(r.byType[t]))),
      h('td', { class: 'mono' }, accText(r.teacher)),
      h('td', { class: 'mono' }, accText(r.baseline)),
      h('td', { class: 'mono', 'data-col': 'gap' }, r.gap ? `${(r.gap.value * 100).toFixed(0)}%${r.gap.n > 1 && Number.isFinite(r.gap.lo) ? ` [${(r.gap.lo * 100).toFixed(0)}, ${(r.gap.hi * 100).toFixed(0)}]` : ''}` : '—'),
      h('td', { class: `mono verdict-${r.kdMinusBaseline ? verdict(r.kdMinusBaseline).replace(' ', '-') : 'none'}`, 'data-col': 'kdMinusBaseline' }, diffText(r.kdMinusBaseline)),
      h('td', { class: `mono verdict-${r.kdMinusControl ? verdict(r.kdMinusControl).replace(' ', '-') : 'none'}`, 'data-col': 'kdMinusControl' }, diffText(r.kdMinusControl)),
      refCell(r, o),
    ];
    body.append(h('tr', { 'data-row': r.id, class: shown ? '' : 'hidden-row' }, ...cells));
  }
  table.append(body);
}

/** The "vs reference" cell: a radio button that makes the row the reference, and its difference to it. */
function refCell(r: TableRow, o: RunTableViewOptions): HTMLElement {
  const radio = h('input', { type: 'radio', name: 'run-table-ref', 'aria-label': `Compare the other rows with ${r.label}`, checked: o.refId === r.id }) as HTMLInputElement;
  radio.addEventListener('change', () => o.onRef(r));
  const ref = o.refId ? o.rows.find((x) => x.id === o.refId) : undefined;
  let text = '';
  let cls = 'none';
  if (ref && ref.id === r.id) text = 'reference';
  else if (ref) {
    const v = versusReference(r, ref);
    text = v ? `${diffText(v.diff)}${v.paired ? '' : v.diff.n > 1 ? ' (unpaired)' : ''}` : '—';
    cls = v ? verdict(v.diff).replace(' ', '-') : 'none';
  }
  return h('td', { class: `mono verdict-${cls}`, 'data-col': 'vsRef' }, radio, ' ', text);
}
