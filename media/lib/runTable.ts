/**
 * The dashboard's run table: one row per run, or per seed group (runs whose resolved configs
 * differ only in `seed`), with the config values that differ between the shown runs, the final
 * validation and test accuracy of the distilled student (overall and per question type), the
 * teacher's and the baseline's, the fraction of the teacher − baseline gap the student closes,
 * and the seed-paired differences KD − baseline and KD − control with their 95 % intervals and a
 * verdict. A control is a run whose kd track has no distillation stage (pipeline.kd without dpt
 * and dft: the equal-compute CE-only control of `llava-kd demo`); it is paired with the other
 * runs by seed. Sorting and filtering too. Pure, unit-tested in test/webview-runTable.test.ts.
 */
import type { EvalLine } from '../../src/common/runFormat';
import { ci95, gapClosed, pairedDiff, welchDiff, type Interval } from '../../src/common/stats';

export type ConfigValue = string | number | boolean;

export interface TableRun {
  key: string;
  runId: string;
  /** What the row is called: the run's name when it has one, else its id. */
  label: string;
  /** The experiment's name: a seed group of one experiment is called by it. */
  experiment?: string;
  config: Record<string, ConfigValue>;
  evals: readonly EvalLine[];
}

/** Config keys never shown as differences (they name the run, not what it trains). */
const IGNORED_KEYS = new Set(['name']);
/** The key that tells seeds apart inside a group. */
export const SEED_KEY = 'seed';

export interface GapClosed {
  value: number;
  lo: number;
  hi: number;
  n: number;
}

export type Verdict = 'better' | 'worse' | 'unclear' | 'one seed';

export interface TableRow {
  /** `run:<key>` or `group:<config of the group>`. */
  id: string;
  kind: 'run' | 'group';
  label: string;
  /** Run folders of the row (one for a run, the members for a group). */
  keys: string[];
  seeds: number[];
  /** The differing config values, as text (a group's seeds listed under `seed`). */
  config: Record<string, string>;
  control: boolean;
  valKd?: Interval;
  testKd?: Interval;
  /** Test accuracy of the student per question type. */
  byType: Record<string, Interval>;
  /** The student's final test accuracy per seed (for comparisons between rows). */
  testBySeed: Record<number, number>;
  teacher?: Interval;
  baseline?: Interval;
  gap?: GapClosed;
  kdMinusBaseline?: Interval;
  kdMinusControl?: Interval;
}

const fmt = (v: ConfigValue | undefined): string => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** Config keys whose values are not the same in every run (sorted, `seed` first). */
export function differingKeys(configs: readonly Record<string, ConfigValue>[]): string[] {
  if (configs.length < 2) return [];
  const keys = new Set(configs.flatMap((c) => Object.keys(c)));
  const out = [...keys].filter((k) => !IGNORED_KEYS.has(k) && new Set(configs.map((c) => fmt(c[k]))).size > 1);
  return out.sort((a, b) => (a === SEED_KEY ? -1 : b === SEED_KEY ? 1 : a.localeCompare(b)));
}

/** Whether a run is a CE-only control: it has a kd track, and no distillation stage in it. */
export function isControl(config: Record<string, ConfigValue>): boolean {
  const kd = config['pipeline.kd'];
  const stages: unknown = typeof kd === 'string' ? safeParse(kd) : kd;
  return Array.isArray(stages) && stages.length > 0 && !stages.includes('dpt') && !stages.includes('dft');
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** The last eval line of each model on a split. */
export function finalEvals(evals: readonly EvalLine[], split: 'val' | 'test'): Map<string, EvalLine> {
  const out = new Map<string, EvalLine>();
  for (const e of evals) if (e.split === split) out.set(e.model, e);
  return out;
}

const seedOf = (r: TableRun): number => (typeof r.config[SEED_KEY] === 'number' ? (r.config[SEED_KEY] as number) : 0);

/** Per seed, a number of each run (runs without it left out). */
function bySeed(runs: readonly TableRun[], f: (r: TableRun) => number | undefined): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of runs) {
    const v = f(r);
    if (v !== undefined && Number.isFinite(v)) m.set(seedOf(r), v);
  }
  return m;
}

const testAcc = (model: string) => (r: TableRun): number | undefined => finalEvals(r.evals, 'test').get(model)?.accuracy;
const stats = (m: Map<number, number>): Interval | undefined => (m.size ? ci95([...m.values()]) : undefined);

/**
 * The rows: one per run, or with `grouped`, one per set of runs whose differing config values
 * are equal apart from the seed (a group of one is a run row).
 */
export function buildRows(runs: readonly TableRun[], grouped: boolean): { rows: TableRow[]; keys: string[] } {
  const keys = differingKeys(runs.map((r) => r.config));
  const groupKeys = keys.filter((k) => k !== SEED_KEY);
  const sets: TableRun[][] = [];
  if (grouped) {
    const by = new Map<string, TableRun[]>();
    for (const r of runs) {
      const g = JSON.stringify(groupKeys.map((k) => fmt(r.config[k])));
      if (!by.has(g)) by.set(g, []);
      by.get(g)!.push(r);
    }
    sets.push(...by.values());
  } else {
    sets.push(...runs.map((r) => [r]));
  }
  const controls = runs.filter((r) => isControl(r.config));
  const controlKd = bySeed(controls, testAcc('kd'));
  const rows = sets.map((unsorted) => {
    const members = [...unsorted].sort((a, b) => seedOf(a) - seedOf(b));
    const group = members.length > 1;
    const config: Record<string, string> = {};
    for (const k of keys) {
      const vals = [...new Set(members.map((m) => fmt(m.config[k])))];
      config[k] = vals.join(', ');
    }
    const control = members.every((m) => isControl(m.config));
    const kd = bySeed(members, testAcc('kd'));
    const teacher = bySeed(members, testAcc('teacher'));
    const baseline = bySeed(members, testAcc('baseline'));
    const types = [...new Set(members.flatMap((m) => Object.keys(finalEvals(m.evals, 'test').get('kd')?.byType ?? {})))].sort();
    const byType: Record<string, Interval> = {};
    for (const t of types) {
      const s = stats(bySeed(members, (r) => finalEvals(r.evals, 'test').get('kd')?.byType?.[t]));
      if (s) byType[t] = s;
    }
    const row: TableRow = {
      id: group ? `group:${JSON.stringify(groupKeys.map((k) => config[k]))}` : `run:${members[0].key}`,
      kind: group ? 'group' : 'run',
      label: group ? groupLabel(members, groupKeys) : members[0].label,
      keys: members.map((m) => m.key),
      seeds: members.map(seedOf),
      config,
      control,
      byType,
      testBySeed: Object.fromEntries(kd),
    };
    const setIf = <K extends keyof TableRow>(k: K, v: TableRow[K] | undefined): void => {
      if (v !== undefined) row[k] = v;
    };
    setIf('valKd', stats(bySeed(members, (r) => finalEvals(r.evals, 'val').get('kd')?.accuracy)));
    setIf('testKd', stats(kd));
    setIf('teacher', stats(teacher));
    setIf('baseline', stats(baseline));
    if (kd.size && teacher.size && baseline.size) {
      const g = gapClosed(teacher, baseline, kd);
      if (g.n > 0 && Number.isFinite(g.value)) row.gap = g;
    }
    if (kd.size && baseline.size) {
      const d = pairedDiff(kd, baseline);
      if (d.n > 0) row.kdMinusBaseline = d;
    }
    if (!control && kd.size && controlKd.size) {
      const d = pairedDiff(kd, controlKd);
      if (d.n > 0) row.kdMinusControl = d;
    }
    return row;
  });
  return { rows, keys };
}

function groupLabel(members: readonly TableRun[], groupKeys: readonly string[]): string {
  const names = [...new Set(members.map((m) => m.experiment ?? m.label))];
  const common = names.length === 1 ? names[0] : groupKeys.map((k) => `${k}=${fmt(members[0].config[k])}`).join(' ') || 'runs';
  return `${common} (${members.length} seeds)`;
}

/** The verdict of a difference: its 95 % interval above 0, below 0, across 0, or one seed only. */
export function verdict(d: Interval): Verdict {
  if (d.n < 2 || !Number.isFinite(d.lo)) return 'one seed';
  if (d.lo > 0) return 'better';
  if (d.hi < 0) return 'worse';
  return 'unclear';
}

/** Sortable columns: a fixed one or `config:<key>` / `type:<question type>`. */
export type SortColumn = 'label' | 'valKd' | 'testKd' | 'teacher' | 'baseline' | 'gap' | 'kdMinusBaseline' | 'kdMinusControl' | `config:${string}` | `type:${string}`;

function sortValue(r: TableRow, c: SortColumn): number | string | undefined {
  if (c === 'label') return r.label;
  if (c.startsWith('config:')) {
    const v = r.config[c.slice(7)];
    const n = Number(v);
    return v !== undefined && v !== '' && Number.isFinite(n) ? n : v;
  }
  if (c.startsWith('type:')) return r.byType[c.slice(5)]?.mean;
  if (c === 'gap') return r.gap?.value;
  return (r[c as 'valKd'] as Interval | undefined)?.mean;
}

/** Rows sorted by a column (missing values last in both directions; stable). */
export function sortRows(rows: readonly TableRow[], c: SortColumn, dir: 'asc' | 'desc'): TableRow[] {
  const sgn = dir === 'asc' ? 1 : -1;
  return rows.map((r, i) => ({ r, i, v: sortValue(r, c) })).sort((a, b) => {
    if (a.v === undefined || b.v === undefined) return a.v === undefined && b.v === undefined ? a.i - b.i : a.v === undefined ? 1 : -1;
    const d = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v));
    return d !== 0 ? sgn * d : a.i - b.i;
  }).map((x) => x.r);
}

/** Rows whose label, run ids (via `idsOf`) or config values contain every word of `text` (case-insensitive). */
export function filterRows(rows: readonly TableRow[], text: string, idsOf: (key: string) => string[] = () => []): TableRow[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...rows];
  return rows.filter((r) => {
    const hay = [r.label, ...r.keys.flatMap(idsOf), ...Object.entries(r.config).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/**
 * A row's test accuracy against a reference row's: paired by seed when both have the same seeds
 * (two or more), else Welch's interval of independent means (no interval with one value on a
 * side). Undefined when either has no test accuracy.
 */
export function versusReference(row: TableRow, ref: TableRow): { diff: Interval; paired: boolean } | undefined {
  const a = Object.keys(row.testBySeed).map(Number);
  const b = Object.keys(ref.testBySeed).map(Number);
  if (!a.length || !b.length) return undefined;
  const same = a.length === b.length && a.every((s) => s in ref.testBySeed);
  if (same && a.length >= 2) {
    const m = (r: TableRow) => new Map(Object.entries(r.testBySeed).map(([k, v]) => [Number(k), v]));
    return { diff: pairedDiff(m(row), m(ref)), paired: true };
  }
  return { diff: welchDiff(Object.values(row.testBySeed), Object.values(ref.testBySeed)), paired: false };
}
