/**
 * Dashboard webview app (bundled to dist/media/dashboardApp.js): loss breakdown per term (CE,
 * MDist-response, MDist-visual, RDist; raw or weighted, each labelled with formula and weight),
 * total loss, learning rate, samples/s, eval accuracy overall and per question type; several
 * runs overlaid with stage boundaries; de-biased EMA smoothing with the raw series faint behind;
 * a hyper-parameter form that asks the host to edit kd-experiment.json.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { Chart } from 'chart.js';
import type { EvalLine, LossTerm, StageKind } from '../src/common/runFormat';
import { LOSS_SERIES_NAMES, LOSS_TERMS, LOSS_WEIGHT_SYMBOLS, TOTAL_LOSS_FORMULA } from '../src/common/lossTerms';
import { type HostMessage, type HyperTarget, type HyperValues, type MetricsColumns, type RunConfigValues, type RunInfo } from '../src/common/messages';
import { appendColumns } from '../src/common/metricsColumns';
import { formatEta, percent, formatAccuracyRecord } from '../src/common/format';
import { makeLineChart, pointCounts, restyleChart, setStageLines, setXTitle, formatNum, type LineDataset, type Pt } from './lib/charts';
import { clear, codicon, h, setDebug, showCommonState, showNoRuns } from './lib/dom';
import { smoothEmaByStage } from './lib/ema';
import { termExplanation, termFormula, termLabel } from './lib/lossLabels';
import { ensureSorted, stageStarts } from './lib/stages';
import { defaultFilter, filterOptions, isSingleStage, stageShown, trackOf } from './lib/stageFilter';
import { runColorIndex, seriesLabel, splitByTrack, trackColor, trackDash } from './lib/series';
import { termTable } from './lib/termTable';
import { buildRows, filterRows, sortRows, type SortColumn, type TableRow, type TableRun } from './lib/runTable';
import { alignedXs, seedBand } from './lib/seedBands';
import { renderRunTable } from './lib/runTableView';
import { chartSvg, seriesCsv, toCsv, type SvgSeries } from './lib/exporters';
import { isHelperSeries, makeScatterChart } from './lib/charts';
import { numericKeys, resultPoints, RESULT_METRICS, type ResultMetric } from './lib/paramsResults';
import { differingKeys } from './lib/runTable';
import { attachZoom, type XRange } from './lib/zoom';
import { effectiveAxis, evalX, trackStarts, xColumn, X_AXIS_TITLES, type XAxis } from './lib/xAxis';
import { chartTheme, onThemeChange, withAlpha, type ChartTheme } from './lib/theme';
import { throttled } from './lib/throttle';
import { connect, loadState, post, saveState } from './lib/vscodeApi';

interface RunData {
  info: RunInfo;
  cols: MetricsColumns;
  evals: EvalLine[];
  config: RunConfigValues;
}

interface Ui {
  smoothing: number;
  weighted: boolean;
  /** The Stage filter (see lib/stageFilter.ts); '' until the runs' stages are known. */
  stage: string;
  logScale: boolean;
  typeSeries: string;
  hyperExp: string;
  hyperStage: string;
  /** The x-axis choice; `auto`: step in stage when one stage is chosen, else global step. */
  xAxis: XAxis | 'auto';
  /** Run table: one row per seed group (runs that differ only in the seed) rather than per run. */
  grouped: boolean;
  /** Run folders the user unticked in the run table (left out of the charts). */
  hidden: string[];
  tableSort: { column: SortColumn; dir: 'asc' | 'desc' };
  tableFilter: string;
  /** The run-table row the others are compared with. */
  tableRef: string | null;
  /** Parameters vs results: the config key on x and the result on y. */
  paramKey: string;
  paramMetric: ResultMetric;
  /** The zoomed x range every line chart shows (null: the whole data). */
  xRange: XRange | null;
  [k: string]: unknown;
}

const saved = loadState();
const ui: Ui = { smoothing: 0.6, weighted: false, stage: '', logScale: false, typeSeries: '', hyperExp: '', hyperStage: 'dft', xAxis: 'auto', grouped: true, hidden: [], tableSort: { column: 'label', dir: 'asc' }, tableFilter: '', tableRef: null, paramKey: '', paramMetric: 'testKd', xRange: null, ...(saved.ui as Partial<Ui>) };
let runs: RunData[] = [];
let hyper: HyperTarget[] = [];
let theme: ChartTheme = chartTheme();
const charts: Record<string, Chart<'line', Pt[]>> = {};

const root = document.getElementById('app')!;
const TERM_COLOR: Record<LossTerm, number> = { ce: 0, res: 2, vis: 4, rel: 5, task: 3 };

function persist(): void {
  saveState({ sources: runs.map((r) => r.info.key), ui });
}

/** The runs the charts draw: all but those unticked in the run table. */
const shown = (): RunData[] => runs.filter((r) => !ui.hidden.includes(r.info.key));
const multi = (): boolean => units().length > 1;
/** The stable colour of a run (multi-run charts colour by run). */
const runColor = (r: RunData): string => theme.series[runColorIndex(runs.map((x) => x.info.key), r.info.key, theme.series.length)];
/** A track's series colour: the track's own with one run, the run's with several. */
const trackSeriesColor = (r: RunData, track: string): string => (multi() ? runColor(r) : theme.series[trackColor(track)]);

/** The part a dataset plays: the (smoothed) line, its faint raw copy, a seed group's band edges, a group member. */
type Role = 'line' | 'raw' | 'bandLo' | 'band' | 'member';
const roleOf = new WeakMap<LineDataset, Role>();
const push = (out: LineDataset[], d: LineDataset, role: Role): void => {
  roleOf.set(d, role);
  out.push(d);
};
/** A role's colour from the series colour (the band and members faint, the line itself full). */
function roleColors(role: Role, color: string): { borderColor: string; backgroundColor: string } {
  if (role === 'raw') return { borderColor: withAlpha(color, 0.22), backgroundColor: withAlpha(color, 0.22) };
  if (role === 'member') return { borderColor: withAlpha(color, 0.2), backgroundColor: withAlpha(color, 0.2) };
  if (role === 'bandLo') return { borderColor: 'transparent', backgroundColor: 'transparent' };
  if (role === 'band') return { borderColor: 'transparent', backgroundColor: withAlpha(color, 0.16) };
  return { borderColor: color, backgroundColor: color };
}

/** Adds `label` (smoothed when smoothing > 0, the average restarting at each stage start) and its faint raw copy. */
function addSeries(out: LineDataset[], label: string, pts: Pt[], color: string, dash: number[], smooth = true, stageStartXs: number[] = [], withRaw = true): void {
  pts = ensureSorted(pts);
  const w = smooth ? ui.smoothing : 0;
  if (w > 0 && pts.length > 1) {
    const xs = pts.map((p) => p.x);
    const ys = smoothEmaByStage(xs, pts.map((p) => p.y), w, stageStartXs);
    if (withRaw) push(out, { label: `${label} (raw)`, data: pts, ...roleColors('raw', color), borderWidth: 1, borderDash: dash, order: 2 }, 'raw');
    push(out, { label, data: pts.map((p, i) => ({ x: p.x, y: ys[i] })), ...roleColors('line', color), borderDash: dash, order: 1 }, 'line');
  } else {
    push(out, { label, data: pts, ...roleColors('line', color), borderDash: dash, order: 1 }, 'line');
  }
}

/**
 * A unit's series: one run's as addSeries draws it; a seed group's as the mean line with a
 * ± std band and the members faint behind (members one by one where their x values differ,
 * as on wall time).
 */
function addUnitSeries(out: LineDataset[], unit: Unit, label: string, members: Pt[][], color: string, dash: number[], smooth: boolean, stageStartXs: number[]): void {
  const have = members.map((m, i) => ({ pts: ensureSorted(m), run: unit.runs[i] })).filter((m) => m.pts.length);
  if (!have.length) return;
  if (have.length === 1 || unit.runs.length === 1) {
    addSeries(out, label, have[0].pts, color, dash, smooth, stageStartXs);
    return;
  }
  if (!alignedXs(have.map((m) => m.pts))) {
    for (const m of have) addSeries(out, `${label} · ${m.run.info.runId}`, m.pts, color, dash, smooth, stageStartXs, false);
    return;
  }
  for (const m of have) push(out, { label: `${label} (member ${m.run.info.runId})`, data: m.pts, ...roleColors('member', color), borderWidth: 1, borderDash: dash, order: 3 }, 'member');
  const b = seedBand(have.map((m) => m.pts));
  push(out, { label: `${label} (band lo)`, data: b.lo, ...roleColors('bandLo', color), pointRadius: 0, borderWidth: 0, fill: false, order: 2 }, 'bandLo');
  push(out, { label: `${label} (band)`, data: b.hi, ...roleColors('band', color), pointRadius: 0, borderWidth: 0, fill: '-1', order: 2 }, 'band');
  addSeries(out, label, b.mean, color, dash, smooth, stageStartXs, false);
}

/** What the charts draw a series for: one run, or a seed group (runs that differ only in the seed) when grouping is on. */
interface Unit {
  runs: RunData[];
  /** Suffix of its series labels when several units are shown: the run id, or the group's label. */
  label: string;
}

/** The units of the current render (computed once per render and message: grouping runs the run-table statistics). */
let unitsMemo: Unit[] | null = null;
/** Each run's x column and track starts on the current axis, computed once per render and message. */
const xsMemo = new Map<RunData, number[]>();
const trackStartsMemo = new Map<RunData, Map<string, number>>();
function perRender<T>(memo: Map<RunData, T>, r: RunData, f: () => T): T {
  let v = memo.get(r);
  if (v === undefined) memo.set(r, (v = f()));
  return v;
}
/** Forgets what was computed for the previous render (data, axis or filters may have changed). */
function resetRenderMemos(): void {
  unitsMemo = null;
  xsMemo.clear();
  trackStartsMemo.clear();
}

function units(): Unit[] {
  if (!unitsMemo) unitsMemo = computeUnits();
  return unitsMemo;
}

function computeUnits(): Unit[] {
  const sh = shown();
  if (!ui.grouped || sh.length < 2) return sh.map((r) => ({ runs: [r], label: r.info.runId }));
  const { rows } = buildRows(sh.map(tableRun), true);
  return rows.map((row) => ({ runs: row.keys.map((k) => sh.find((r) => r.info.key === k)!), label: row.kind === 'group' ? row.label : sh.find((r) => r.info.key === row.keys[0])!.info.runId }));
}
const tableRun = (r: RunData): TableRun => ({ key: r.info.key, runId: r.info.runId, label: r.info.name ?? r.info.runId, experiment: r.info.experimentName, config: r.config, evals: r.evals });

const axis = (): XAxis => effectiveAxis(ui.xAxis, ui.stage);
/** Each metrics row's x on the current axis. */
const xs = (r: RunData): number[] => perRender(xsMemo, r, () => xColumn(r.cols, axis()));
/** Where each of a run's tracks began (for step in track), once per render. */
const runTrackStarts = (r: RunData): Map<string, number> => perRender(trackStartsMemo, r, () => trackStarts(r.cols));
/** Where each stage of a run begins on the current axis (global: after its parent steps; else at its first row). */
function stageStartsOnAxis(r: RunData): { stage: string; x: number }[] {
  const starts = stageStarts(r.cols).filter((s) => stageShown(ui.stage, s.stage));
  if (axis() === 'global') return starts;
  if (axis() === 'track') {
    const t0 = runTrackStarts(r);
    return starts.map((s) => ({ stage: s.stage, x: s.x - (t0.get(trackOf(s.stage)) ?? 0) }));
  }
  const x = xs(r);
  const out: { stage: string; x: number }[] = [];
  for (let i = 0; i < r.cols.stage.length; i++) {
    if (i > 0 && r.cols.stage[i] === r.cols.stage[i - 1]) continue;
    const stage = r.cols.stages[r.cols.stage[i]];
    if (stageShown(ui.stage, stage)) out.push({ stage, x: x[i] });
  }
  return out;
}
/** Where the EMA restarts (each stage's start), except on step in stage / in track where x restarts itself. */
const stageXs = (r: RunData): number[] => (axis() === 'stage' ? [] : stageStartsOnAxis(r).map((s) => s.x));

/** Stage boundaries of the shown units (a group's from its first member), one line per (x, stage). */
function stageLinesFor(): { x: number; label: string }[] {
  if (isSingleStage(ui.stage)) return [];
  const seen = new Set<string>();
  const lines: { x: number; label: string }[] = [];
  for (const u of units()) for (const s of stageStartsOnAxis(u.runs[0])) {
    const k = `${s.x} ${s.stage}`;
    if (seen.has(k)) continue;
    seen.add(k);
    lines.push({ x: s.x, label: s.stage });
  }
  return lines.sort((a, b) => a.x - b.x);
}

/** What each dataset of the loss charts shows: its term, track and unit (all its roles alike). */
interface SeriesMeta {
  term: LossTerm;
  track: string;
  unit: Unit;
}
const metaOf = new WeakMap<LineDataset, SeriesMeta>();
/** Several units drawn: labels carry the unit, colours mean the unit. */
const multiUnits = (us: Unit[]): boolean => us.length > 1;

/** Per unit and track, each member run's points of a column (members without the track: empty). */
function memberParts(u: Unit, pick: (r: RunData) => readonly (number | null)[]): Map<string, Pt[][]> {
  const out = new Map<string, Pt[][]>();
  u.runs.forEach((r, i) => {
    for (const p of splitByTrack(r.cols, xs(r), pick(r), ui.stage)) {
      if (!out.has(p.track)) out.set(p.track, u.runs.map(() => []));
      out.get(p.track)![i] = p.pts;
    }
  });
  return out;
}

/**
 * The breakdown: per unit (run or seed group), per term, per track, one series (colour = term,
 * dash = track). The per-term charts reuse these with the track's (or, with several units, the
 * unit's) colour.
 */
function buildLossDatasets(): LineDataset[] {
  const out: LineDataset[] = [];
  const us = units();
  for (const u of us) {
    const tracks = memberParts(u, (r) => r.cols.total).size;
    for (const t of LOSS_TERMS) {
      for (const [track, members] of memberParts(u, (r) => (ui.weighted ? r.cols.weighted : r.cols.raw)[t])) {
        const n = out.length;
        addUnitSeries(out, u, seriesLabel(LOSS_SERIES_NAMES[t], track, tracks, multiUnits(us) ? u.label : null), members, theme.series[TERM_COLOR[t]], trackDash(track), true, stageXs(u.runs[0]));
        for (const d of out.slice(n)) metaOf.set(d, { term: t, track, unit: u });
      }
    }
  }
  return out;
}

/** The series of one term on its own chart: the breakdown's, coloured per track (one unit) or per unit. */
function termDatasets(loss: LineDataset[], t: LossTerm): LineDataset[] {
  return loss.filter((d) => metaOf.get(d)?.term === t).map((d) => {
    const m = metaOf.get(d)!;
    return { ...d, ...roleColors(roleOf.get(d) ?? 'line', trackSeriesColor(m.unit.runs[0], m.track)) };
  });
}

/** A metrics column (total loss, lr, samples/s) per unit and track: colour per track (one unit) or per unit, dash per track. */
function buildSimple(pick: (r: RunData) => readonly (number | null)[], base: string, smooth: boolean, colorOf: (r: RunData, track: string) => string = trackSeriesColor): LineDataset[] {
  const out: LineDataset[] = [];
  const us = units();
  for (const u of us) {
    const parts = memberParts(u, pick);
    for (const [track, members] of parts) addUnitSeries(out, u, seriesLabel(base, track, parts.size, multiUnits(us) ? u.label : null), members, colorOf(u.runs[0], track), trackDash(track), smooth, stageXs(u.runs[0]));
  }
  return out;
}

/** The distillation terms drawn again each on its own scale, under the breakdown. */
const TERM_CHARTS: readonly LossTerm[] = ['ce', 'res', 'vis', 'rel'];

/** The run's evals in the stages the filter shows. */
const evalsShown = (r: RunData): EvalLine[] => r.evals.filter((e) => stageShown(ui.stage, e.stage));
/** An eval's x on the current axis. */
const evalAt = (r: RunData, e: EvalLine): number => evalX(e, axis(), r.cols.time.find((t) => t > 0) ?? 0, runTrackStarts(r));
/** Point style per evaluated model, so that models stay apart where colour means the run. */
const MODEL_POINT: Record<string, 'circle' | 'triangle' | 'rect'> = { kd: 'circle', baseline: 'rect', teacher: 'triangle' };

/**
 * Accuracy: validation as a solid line with round points, test as a dashed line with large
 * diamonds (and "val"/"test" in the label), so the two splits differ in line, marker and name.
 */
function buildAccDatasets(): LineDataset[] {
  const out: LineDataset[] = [];
  const us = units();
  for (const u of us) {
    const r0 = u.runs[0];
    const models = [...new Set(u.runs.flatMap((r) => r.evals.map((e) => e.model)))];
    for (const m of models) {
      const color = trackSeriesColor(r0, m);
      const name = (split: string): string => (multiUnits(us) ? `${m} ${split} · ${u.label}` : `${m} ${split}`);
      const pts = (split: 'val' | 'test'): Pt[][] => u.runs.map((r) => evalsShown(r).filter((e) => e.model === m && e.split === split).map((e) => ({ x: evalAt(r, e), y: e.accuracy })));
      const point = multiUnits(us) ? MODEL_POINT[m] ?? 'star' : 'circle';
      const n = out.length;
      addUnitSeries(out, u, name('val'), pts('val'), color, [], false, []);
      for (const d of out.slice(n)) if (roleOf.get(d) === 'line') Object.assign(d, { pointRadius: 2.5, pointStyle: point });
      const k = out.length;
      addUnitSeries(out, u, name('test'), pts('test'), color, [5, 4], false, []);
      for (const d of out.slice(k)) if (roleOf.get(d) === 'line') Object.assign(d, { backgroundColor: withAlpha(color, 0.35), borderWidth: 1.5, pointRadius: 6, pointBorderWidth: 2, pointStyle: 'rectRot' });
    }
  }
  return out;
}

/** Keys `runKey|model` of every (run, model) that has evals. */
function typeSeriesOptions(): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  for (const r of shown()) for (const m of [...new Set(r.evals.map((e) => e.model))]) out.push({ value: `${r.info.key}|${m}`, label: multi() ? `${m} · ${r.info.runId}` : m });
  return out;
}

function buildTypeDatasets(): LineDataset[] {
  const opts = typeSeriesOptions();
  if (!opts.length) return [];
  if (!opts.some((o) => o.value === ui.typeSeries)) ui.typeSeries = (opts.find((o) => o.value.endsWith('|kd')) ?? opts[0]).value;
  const [key, model] = [ui.typeSeries.slice(0, ui.typeSeries.lastIndexOf('|')), ui.typeSeries.slice(ui.typeSeries.lastIndexOf('|') + 1)];
  const r = runs.find((x) => x.info.key === key);
  if (!r) return [];
  const evs = evalsShown(r).filter((e) => e.model === model && e.split === 'val');
  const types = [...new Set(evs.flatMap((e) => Object.keys(e.byType ?? {})))].sort();
  return types.map((t, i) => {
    const color = theme.series[i % theme.series.length];
    const data = ensureSorted(evs.filter((e) => Number.isFinite(e.byType?.[t])).map((e) => ({ x: evalAt(r, e), y: e.byType[t] })));
    return { label: t, data, borderColor: color, backgroundColor: color, borderDash: i >= theme.series.length ? [5, 3] : [], pointRadius: 2 };
  });
}

// ------------------------------------------------------------------------------------- layout

/** PNG · SVG · CSV links of a chart card (the host asks where to save). */
function exportLinks(id: string, title: string): HTMLElement {
  const box = h('span', { class: 'export-links', role: 'group', 'aria-label': `Export ${title}` });
  for (const f of ['png', 'svg', 'csv'] as const) {
    box.append(h('button', { class: 'link-button', id: `export-${id}-${f}`, title: `Save this chart as ${f.toUpperCase()}`, 'aria-label': `Export ${title} as ${f.toUpperCase()}`, onclick: () => exportChart(id, title, f) }, f.toUpperCase()));
  }
  return box;
}

function chartCard(id: string, title: string, extra?: HTMLElement, wide = false): HTMLElement {
  return h('figure', { class: `chart-card${wide ? ' wide' : ''}`, id: `card-${id}`, 'aria-label': title },
    h('figcaption', {}, h('span', { class: 'chart-title' }, title), h('span', { class: 'caption-tools' }, extra ?? null, exportLinks(id, title))),
    h('div', { class: 'chart-box' }, h('canvas', { id: `chart-${id}`, role: 'img', 'aria-label': `${title} chart (drag to zoom, Shift+drag to pan, double-click to reset)` }), h('div', { class: 'zoom-overlay', id: `zoom-${id}` })),
    h('div', { class: 'chart-note', id: `note-${id}` }));
}

function select(id: string, label: string, options: { value: string; label: string }[], value: string, onChange: (v: string) => void): HTMLElement {
  const sel = h('vscode-single-select', { id, 'aria-label': label }) as HTMLElement & { value: string };
  for (const o of options) sel.append(h('vscode-option', { value: o.value, selected: o.value === value }, o.label));
  sel.addEventListener('change', () => onChange(sel.value));
  return h('label', { class: 'control' }, h('span', {}, label), sel);
}

function checkbox(id: string, label: string, checked: boolean, onChange: (v: boolean) => void): HTMLElement {
  const cb = h('vscode-checkbox', { id, label, 'aria-label': label, checked }) as HTMLElement & { checked: boolean };
  cb.addEventListener('change', () => onChange(cb.checked));
  return cb;
}

function stageOptions(): { value: string; label: string }[] {
  const stages: string[] = [];
  for (const r of runs) for (const s of r.cols.stages) if (!stages.includes(s)) stages.push(s);
  return filterOptions(stages);
}

let stageSelectKey = '';

function renderControls(): void {
  const box = document.getElementById('controls');
  if (!box) return;
  clear(box);
  const slider = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: ui.smoothing, 'aria-label': 'Smoothing' }) as HTMLInputElement;
  const val = h('span', { id: 'smoothing-value', class: 'mono' }, ui.smoothing.toFixed(2));
  slider.addEventListener('input', () => {
    ui.smoothing = Math.min(0.99, Math.max(0, Number(slider.value)));
    val.textContent = ui.smoothing.toFixed(2);
    persist();
    scheduleRender(true);
  });
  box.append(
    h('label', { class: 'control smoothing' }, h('span', {}, 'Smoothing'), slider, val),
    checkbox('weighted', 'Weighted (weight × raw)', ui.weighted, (v) => {
      ui.weighted = v;
      persist();
      scheduleRender(true);
    }),
    checkbox('log-scale', 'Log scale (losses)', ui.logScale, (v) => {
      ui.logScale = v;
      persist();
      rebuildCharts();
    }),
  );
  const opts = stageOptions();
  ui.stage = defaultFilter(opts, ui.stage || undefined);
  stageSelectKey = opts.map((o) => o.value).join(',');
  box.append(select('stage-filter', 'Stage', opts, ui.stage, (v) => {
    ui.stage = v;
    ui.xRange = null;
    persist();
    renderControls();
    scheduleRender(true);
  }));
  const axes: { value: string; label: string }[] = [
    { value: 'auto', label: `Auto (${X_AXIS_TITLES[effectiveAxis('auto', ui.stage)]})` },
    ...(isSingleStage(ui.stage) ? [{ value: 'stage', label: 'Step in stage' }] : []),
    { value: 'track', label: 'Step in track (baseline beside kd)' },
    { value: 'global', label: 'Global step' },
    { value: 'time', label: 'Wall time' },
  ];
  if (!axes.some((a) => a.value === ui.xAxis)) ui.xAxis = 'auto';
  const reset = h('vscode-button', { id: 'reset-zoom', secondary: true, icon: 'zoom-out', 'aria-label': 'Reset zoom', title: 'Show the whole x range (or double-click a chart)' }, 'Reset zoom');
  reset.addEventListener('click', () => {
    ui.xRange = null;
    persist();
    renderZoomButton();
    scheduleRender(true);
  });
  box.append(select('x-axis', 'X axis', axes, ui.xAxis, (v) => {
    ui.xAxis = v as Ui['xAxis'];
    ui.xRange = null;
    persist();
    renderZoomButton();
    scheduleRender(true);
  }), reset);
  renderZoomButton();
}

function renderRuns(): void {
  const chips = document.getElementById('run-chips');
  const status = document.getElementById('run-status');
  if (!chips || !status) return;
  clear(chips);
  clear(status);
  for (const r of runs) {
    const i = r.info;
    chips.append(h('span', { class: `chip state-${i.state}`, title: i.key },
      codicon(i.state === 'running' ? 'sync' : i.state === 'completed' ? 'pass' : i.state === 'failed' ? 'error' : 'debug-stop', i.state === 'running'),
      h('span', { class: 'chip-label' }, i.runId),
      h('button', { class: 'icon-button', 'aria-label': `Remove run ${i.runId}`, title: 'Remove from dashboard', onclick: () => post({ type: 'removeRun', key: i.key }) }, codicon('close'))));
    const parts: (string | HTMLElement)[] = [
      h('strong', {}, i.runId), ` (${i.experimentName}) `,
      h('vscode-badge', { variant: 'counter' }, i.state),
      ` ${i.stage ?? 'not started'}${i.stage ? ` ${i.step}/${i.totalSteps}` : ''} · overall ${i.globalStep}/${i.globalTotalSteps} (${percent(i.globalStep, i.globalTotalSteps)}%)`,
    ];
    if (i.state === 'running' && i.etaSeconds !== undefined) parts.push(` · ${formatEta(i.etaSeconds, i.etaRough)}`);
    parts.push(' · backend: ', h('span', { class: 'mono backend', 'data-backend': i.backend }, i.backend));
    const acc = formatAccuracyRecord(i.accuracy);
    if (acc) parts.push(` · accuracy: ${acc}`);
    const line = h('div', { class: 'run-line', 'data-run': i.runId }, ...parts);
    if (i.error || i.statusError) line.append(h('div', { class: 'error-text', role: 'alert' }, codicon('error'), ` ${i.error ?? i.statusError}`));
    status.append(line);
  }
}

function lossLegend(): void {
  const table = document.getElementById('loss-legend');
  if (!table) return;
  clear(table);
  const r0 = shown()[0];
  if (!r0) return;
  const div = r0.info.divergence ?? 'forward_kl';
  table.append(h('caption', { class: 'sr-only' }, 'Loss terms, formulas and weights'));
  const tt = termTable(r0.cols, ui.stage);
  const from = tt.stage ? ` (${tt.stage})` : '';
  table.append(h('tr', {}, h('th', {}, 'Term'), h('th', {}, 'Formula · weight'), h('th', {}, `last raw${from}`), h('th', {}, `last weighted${from}`)));
  for (const row of tt.rows) {
    const t = row.term;
    const w = tt.stage ? r0.cols.weights[tt.stage]?.[t] : undefined;
    const label = w !== undefined ? termLabel(t, div, w) : termFormula(t, div);
    table.append(h('tr', { 'data-term': t },
      h('td', {}, h('span', { class: 'swatch', style: `background:${theme.series[TERM_COLOR[t]]}` }), ' ', LOSS_SERIES_NAMES[t]),
      h('td', {}, h('div', { class: 'formula' }, label), h('div', { class: 'term-explanation muted' }, termExplanation(t, div))),
      h('td', { class: 'mono' }, formatNum(row.raw)),
      h('td', { class: 'mono' }, row.weighted === null ? '—' : formatNum(row.weighted))));
  }
}

function testTable(): void {
  const table = document.getElementById('type-table');
  if (!table) return;
  clear(table);
  const cols: { label: string; e: EvalLine }[] = [];
  for (const r of shown()) {
    const models = [...new Set(r.evals.filter((e) => e.split === 'test').map((e) => e.model))];
    for (const m of models) {
      const tests = r.evals.filter((e) => e.split === 'test' && e.model === m);
      cols.push({ label: multi() ? `${m} · ${r.info.runId}` : m, e: tests[tests.length - 1] });
    }
  }
  if (!cols.length) return;
  if (cols.length > 6) {
    table.append(h('caption', {}, 'Final test accuracy: with this many runs, see the run table above (per question type, seed groups).'));
    return;
  }
  const types = [...new Set(cols.flatMap((c) => Object.keys(c.e.byType ?? {})))].sort();
  table.append(h('caption', {}, 'Final test accuracy'));
  table.append(h('tr', {}, h('th', {}, 'type'), ...cols.map((c) => h('th', {}, c.label))));
  table.append(h('tr', { class: 'overall' }, h('td', {}, 'overall'), ...cols.map((c) => h('td', { class: 'mono' }, `${(c.e.accuracy * 100).toFixed(1)}%`))));
  for (const t of types) {
    table.append(h('tr', {}, h('td', {}, t), ...cols.map((c) => h('td', { class: 'mono' }, Number.isFinite(c.e.byType?.[t]) ? `${(c.e.byType[t] * 100).toFixed(1)}%` : '—'))));
  }
}

// ------------------------------------------------------------------------------------- hyper form

const DISTILL: readonly string[] = ['dpt', 'dft'];

function renderHyper(message?: { ok: boolean; text: string }): void {
  const box = document.getElementById('hyper-body');
  if (!box) return;
  clear(box);
  if (!hyper.length) {
    box.append(h('p', { class: 'muted' }, 'No experiment file to edit for these runs.'));
    return;
  }
  if (!hyper.some((t) => t.experimentFile === ui.hyperExp)) ui.hyperExp = hyper[0].experimentFile;
  const target = hyper.find((t) => t.experimentFile === ui.hyperExp)!;
  if (!target.stages.some((s) => s.kind === ui.hyperStage)) ui.hyperStage = target.stages.find((s) => s.kind === 'dft')?.kind ?? target.stages[0]?.kind ?? 'dft';
  const st = target.stages.find((s) => s.kind === ui.hyperStage);
  box.append(h('div', { class: 'hyper-row' },
    select('hyper-exp', 'Experiment', hyper.map((t) => ({ value: t.experimentFile, label: t.experimentName })), ui.hyperExp, (v) => {
      ui.hyperExp = v;
      persist();
      renderHyper();
    }),
    select('hyper-stage', 'Stage', target.stages.map((s) => ({ value: s.kind, label: s.kind })), ui.hyperStage, (v) => {
      ui.hyperStage = v;
      persist();
      renderHyper();
    })));
  if (target.error) box.append(h('p', { class: 'warning-text' }, codicon('warning'), ` ${target.error}`));
  if (!st) return;
  const distill = DISTILL.includes(st.kind);
  const field = (key: keyof HyperValues, label: string, value: number, disabled: boolean): HTMLElement => {
    const tf = h('vscode-textfield', { id: `hyper-${key}`, type: 'text', inputmode: 'decimal', value: String(value), 'aria-label': label, disabled });
    return h('label', { class: 'control hyper-field' }, h('span', {}, label), tf);
  };
  const fields = h('div', { class: 'hyper-row' },
    field('lr', 'lr', st.lr, false),
    ...(['res', 'vis', 'rel'] as const).map((t) => field(t, `${LOSS_WEIGHT_SYMBOLS[t]} (${LOSS_SERIES_NAMES[t]})`, st.loss[t], !distill)));
  const btn = h('vscode-button', { id: 'hyper-apply', icon: 'save', 'aria-label': 'Write to kd-experiment.json' }, 'Write to kd-experiment.json');
  const note = h('span', { id: 'hyper-message', class: message ? (message.ok ? 'ok-text' : 'error-text') : 'muted', role: 'status' },
    message?.text ?? (distill ? `${TOTAL_LOSS_FORMULA} (${target.divergence}, T=${target.temperature})` : `${st.kind} has no teacher: only lr applies.`));
  btn.addEventListener('click', () => {
    const values: HyperValues = {};
    const bad: string[] = [];
    const read = (k: keyof HyperValues, cur: number, label: string): void => {
      const el = document.getElementById(`hyper-${k}`) as (HTMLElement & { value: string; disabled: boolean; invalid: boolean }) | null;
      if (!el || el.disabled) return;
      const v = Number(el.value.trim());
      const ok = el.value.trim() !== '' && Number.isFinite(v) && (k === 'lr' ? v > 0 && v <= 1 : v >= 0);
      el.invalid = !ok;
      if (!ok) bad.push(`${label} must be ${k === 'lr' ? 'a number in (0, 1]' : 'a number ≥ 0'}`);
      else if (v !== cur) values[k] = v;
    };
    read('lr', st.lr, 'lr');
    for (const t of ['res', 'vis', 'rel'] as const) read(t, st.loss[t], LOSS_WEIGHT_SYMBOLS[t]);
    if (bad.length) {
      note.className = 'error-text';
      note.textContent = bad.join('; ');
      return;
    }
    if (!Object.keys(values).length) {
      note.className = 'muted';
      note.textContent = 'Nothing changed.';
      return;
    }
    note.className = 'muted';
    note.textContent = 'Writing…';
    post({ type: 'editHyper', experimentFile: target.experimentFile, stage: st.kind as StageKind, values });
  });
  box.append(fields, h('div', { class: 'hyper-row' }, btn, note));
}

// ------------------------------------------------------------------------------------- rendering

function buildLayout(): void {
  clear(root);
  root.setAttribute('aria-busy', 'false');
  const addBtn = h('vscode-button', { id: 'add-run', secondary: true, icon: 'add', 'aria-label': 'Add Run…' }, 'Add Run…');
  addBtn.addEventListener('click', () => post({ type: 'addRuns' }));
  const typeSel = h('span', { id: 'type-series-box' });
  root.append(
    h('header', { class: 'toolbar' }, h('h1', {}, 'LLaVA-KD Dashboard'), h('div', { id: 'run-chips', class: 'chips', 'aria-label': 'Runs' }), addBtn),
    h('section', { id: 'run-status', class: 'run-status', 'aria-label': 'Run status' }),
    h('section', { id: 'controls', class: 'controls', 'aria-label': 'Chart controls' }),
    h('details', { class: 'runs-card', id: 'runs-card', open: runs.length > 1 },
      h('summary', {}, 'Runs: config differences and results'),
      h('div', { class: 'hyper-row', id: 'run-table-controls' }),
      h('div', { class: 'table-scroll' }, h('table', { id: 'run-table', class: 'legend-table run-table' })),
      h('p', { class: 'muted', id: 'run-table-note' })),
    h('div', { class: 'grid' },
      chartCard('loss', 'Loss breakdown', h('span', { id: 'loss-mode', class: 'muted' }), true),
      h('div', { class: 'term-grid', id: 'term-grid', 'aria-label': 'Each loss term on its own scale' },
        ...TERM_CHARTS.map((t) => chartCard(`term-${t}`, `${LOSS_SERIES_NAMES[t]} (own scale)`))),
      chartCard('total', 'Total loss'),
      chartCard('lr', 'Learning rate'),
      chartCard('sps', 'Samples/s'),
      chartCard('mem', 'Memory (trainer process, tensors)'),
      chartCard('acc', 'Eval accuracy'),
      chartCard('types', 'Accuracy per question type', typeSel),
      h('div', { class: 'term-grid', id: 'type-grid', 'aria-label': 'Validation accuracy of the students per question type, every shown run' }),
      chartCard('params', 'Parameters vs results', h('span', { id: 'params-controls', class: 'caption-tools' }), true)),
    h('details', { class: 'hyper', id: 'hyper', open: true },
      h('summary', {}, 'Hyper-parameters for the next run (edits kd-experiment.json, undoable)'),
      h('div', { id: 'hyper-body' })),
  );
  document.getElementById('card-loss')!.append(h('table', { id: 'loss-legend', class: 'legend-table' }));
  document.getElementById('card-types')!.append(h('table', { id: 'type-table', class: 'legend-table' }));
  rebuildCharts();
}

/** Drag-to-zoom, Shift+drag pan and double-click reset on a line chart; the range is shared by all. */
function zoomable(id: string): void {
  const c = charts[id];
  const overlay = document.getElementById(`zoom-${id}`);
  if (!c || !overlay) return;
  zoomDetach.push(attachZoom({
    canvas: c.canvas,
    valueAt: (px) => c.scales.x.getValueForPixel(px) ?? 0,
    area: () => c.chartArea,
    range: () => ({ min: c.scales.x.min, max: c.scales.x.max }),
    extent: () => {
      const xs = c.data.datasets.flatMap((d) => (d.data as Pt[]).map((p) => p.x));
      return xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : { min: 0, max: 1 };
    },
    onRange: (r) => {
      ui.xRange = r;
      persist();
      renderZoomButton();
      scheduleRender(true);
    },
  }, overlay));
}
/** Detach functions of the zoom handlers of the current charts. */
const zoomDetach: (() => void)[] = [];

/** The shared zoom range on a chart's x axis (undefined bounds: the data's). */
function applyRange(c: Chart<'line', Pt[]>): void {
  const x = (c.options.scales as { x: { min?: number; max?: number } }).x;
  x.min = ui.xRange?.min;
  x.max = ui.xRange?.max;
}

function renderZoomButton(): void {
  const b = document.getElementById('reset-zoom');
  if (b) b.hidden = !ui.xRange;
}

function rebuildCharts(): void {
  for (const f of zoomDetach.splice(0)) f();
  for (const [id, c] of Object.entries(charts)) {
    c.destroy();
    delete charts[id];
  }
  typeChartIds.length = 0;
  const mk = (id: string, yTitle: string, extra: Partial<Parameters<typeof makeLineChart>[2]> = {}): void => {
    const canvas = document.getElementById(`chart-${id}`) as HTMLCanvasElement | null;
    if (canvas) charts[id] = makeLineChart(canvas, theme, { yTitle, ...extra });
  };
  mk('loss', 'loss', { logY: ui.logScale });
  for (const t of TERM_CHARTS) mk(`term-${t}`, LOSS_SERIES_NAMES[t], { logY: ui.logScale });
  mk('total', 'loss', { logY: ui.logScale });
  mk('lr', 'learning rate');
  mk('sps', 'samples / s');
  mk('mem', 'MiB');
  mk('acc', 'accuracy', { percent: true, yMin: 0, yMax: 1 });
  mk('types', 'accuracy', { percent: true, yMin: 0, yMax: 1 });
  for (const id of Object.keys(charts)) zoomable(id);
  const pc = document.getElementById('chart-params') as HTMLCanvasElement | null;
  if (pc) charts.params = makeScatterChart(pc, theme, { xTitle: ui.paramKey || 'config value', yTitle: 'result', percentY: true });
  typeGridKey = '';
  scheduleRender(true);
}

/** Redraws at most every 400 ms while runs stream; `scheduleRender(true)` at once (a control changed). */
const scheduleRender = throttled(() => render(), { minIntervalMs: 400 });

function render(): void {
  if (!charts.loss) return;
  resetRenderMemos();
  const opts = stageOptions();
  if (opts.map((o) => o.value).join(',') !== stageSelectKey) renderControls();
  const lines = stageLinesFor();
  const set = (id: string, ds: LineDataset[], note: string): void => {
    const c = charts[id];
    c.data.datasets = ds;
    setStageLines(c, lines);
    setXTitle(c, X_AXIS_TITLES[axis()]);
    applyRange(c);
    c.update('none');
    const n = document.getElementById(`note-${id}`);
    if (n) n.textContent = ds.length ? '' : note;
  };
  const noMetrics = runs.every((r) => r.cols.globalStep.length === 0);
  const waiting = runs.some((r) => r.info.state === 'running') ? 'Waiting for the first logged step…' : 'No metrics logged.';
  const loss = buildLossDatasets();
  set('loss', loss, noMetrics ? waiting : 'No loss terms in this stage.');
  // Small multiples: each term on its own y scale (RDist's ~0.005 is flat on the shared axis).
  for (const t of TERM_CHARTS) {
    const mine = termDatasets(loss, t);
    set(`term-${t}`, mine, noMetrics ? waiting : `No ${LOSS_SERIES_NAMES[t]} in this stage.`);
    document.getElementById(`card-term-${t}`)?.classList.toggle('empty', !mine.length);
  }
  set('total', buildSimple((r) => r.cols.total, LOSS_SERIES_NAMES.total, true), waiting);
  set('lr', buildSimple((r) => r.cols.lr, 'LR', false), waiting);
  set('sps', buildSimple((r) => r.cols.samplesPerSec, 'Samples/s', true), waiting);
  // Lines written before memory was logged have none: say so rather than draw nothing silently.
  const mem = [...buildSimple((r) => r.cols.rssMb, 'process RSS', false), ...buildSimple((r) => r.cols.tensorMb, 'tensors', false, (r) => (multi() ? withAlpha(runColor(r), 0.6) : theme.series[1]))];
  set('mem', mem, noMetrics ? waiting : 'This run\'s metrics carry no memory figures (written by an older trainer).');
  set('acc', buildAccDatasets(), 'No evaluation yet.');
  // Before the Model select is built: this picks the default model (kd) into ui.typeSeries.
  const typeDatasets = buildTypeDatasets();
  const typeBox = document.getElementById('type-series-box');
  const tOpts = typeSeriesOptions();
  if (typeBox) {
    const key = tOpts.map((o) => o.value).join(',');
    if (typeBox.dataset.key !== key) {
      typeBox.dataset.key = key;
      clear(typeBox);
      if (tOpts.length > 1) typeBox.append(select('type-series', 'Model', tOpts, ui.typeSeries, (v) => {
        ui.typeSeries = v;
        persist();
        scheduleRender(true);
      }));
    }
  }
  set('types', typeDatasets, 'No evaluation yet.');
  renderTypeGrid();
  renderParams();
  const mode = document.getElementById('loss-mode');
  if (mode) mode.textContent = ui.weighted ? 'weighted (weight × raw)' : 'raw';
  lossLegend();
  testTable();
  runTable();
  writeDebug();
}

// ------------------------------------------------------------------------------------- per-type grid, params vs results

let typeGridKey = '';
const typeChartIds: string[] = [];

/** Question types the shown runs' students were evaluated on (validation). */
const shownTypes = (): string[] => [...new Set(shown().flatMap((r) => r.evals.filter((e) => e.model === 'kd' && e.split === 'val').flatMap((e) => Object.keys(e.byType ?? {}))))].sort();

/**
 * With several runs (or groups) shown: one small chart per question type, a line per run or
 * group (its band with seeds): the student's validation accuracy on that type over training.
 */
function renderTypeGrid(): void {
  const grid = document.getElementById('type-grid');
  if (!grid) return;
  const us = units();
  const types = us.length > 1 ? shownTypes() : [];
  const key = types.join(',');
  if (key !== typeGridKey) {
    typeGridKey = key;
    for (const id of typeChartIds.splice(0)) {
      charts[id]?.destroy();
      delete charts[id];
    }
    clear(grid);
    for (const t of types) {
      grid.append(chartCard(`type-${t}`, `${t} questions (val, kd)`));
      const canvas = document.getElementById(`chart-type-${t}`) as HTMLCanvasElement;
      charts[`type-${t}`] = makeLineChart(canvas, theme, { yTitle: 'accuracy', percent: true, yMin: 0, yMax: 1 });
      zoomable(`type-${t}`);
      typeChartIds.push(`type-${t}`);
    }
  }
  for (const t of types) {
    const out: LineDataset[] = [];
    for (const u of us) {
      const pts = u.runs.map((r) => evalsShown(r).filter((e) => e.model === 'kd' && e.split === 'val' && Number.isFinite(e.byType?.[t])).map((e) => ({ x: evalAt(r, e), y: e.byType[t] })));
      addUnitSeries(out, u, u.label, pts, runColor(u.runs[0]), [], false, []);
    }
    const c = charts[`type-${t}`];
    c.data.datasets = out;
    setXTitle(c, X_AXIS_TITLES[axis()]);
    applyRange(c);
    c.update('none');
  }
}

/** Parameters vs results: a point per shown run, x = a numeric config value that differs, y = a result. */
function renderParams(): void {
  const card = document.getElementById('card-params');
  const c = charts.params;
  if (!card || !c) return;
  const trs = shown().map(tableRun);
  const keys = numericKeys(trs, differingKeys(trs.map((r) => r.config)));
  card.classList.toggle('hidden-card', trs.length < 2);
  const box = document.getElementById('params-controls');
  if (!keys.includes(ui.paramKey)) ui.paramKey = keys.find((k) => k !== 'seed') ?? keys[0] ?? '';
  if (box && box.dataset.key !== `${keys.join(',')}|${ui.paramKey}|${ui.paramMetric}`) {
    box.dataset.key = `${keys.join(',')}|${ui.paramKey}|${ui.paramMetric}`;
    clear(box);
    if (keys.length) {
      box.append(select('param-key', 'x', keys.map((k) => ({ value: k, label: k })), ui.paramKey, (v) => {
        ui.paramKey = v;
        persist();
        scheduleRender(true);
      }), select('param-metric', 'y', RESULT_METRICS, ui.paramMetric, (v) => {
        ui.paramMetric = v as ResultMetric;
        persist();
        scheduleRender(true);
      }));
    }
  }
  const pts = keys.length ? resultPoints(trs, ui.paramKey, ui.paramMetric) : [];
  c.data.datasets = pts.map((p) => {
    const r = runs.find((x) => x.info.key === p.key)!;
    return { label: p.label, data: [{ x: p.x, y: p.y }], backgroundColor: runColor(r), borderColor: runColor(r), pointStyle: p.control ? 'rect' : 'circle', showLine: false };
  });
  const sc = c.options.scales as { x: { title: { text: string } }; y: { title: { text: string }; min?: number; max?: number } };
  sc.x.title.text = ui.paramKey || 'config value';
  // Accuracies on 0-100 %; differences and the gap closed on their own range (they can be negative).
  const accuracy = ui.paramMetric === 'testKd' || ui.paramMetric === 'valKd';
  sc.y.min = accuracy ? 0 : undefined;
  sc.y.max = accuracy ? 1 : undefined;
  sc.y.title.text = RESULT_METRICS.find((m) => m.value === ui.paramMetric)!.label;
  c.update('none');
  const note = document.getElementById('note-params');
  if (note) note.textContent = trs.length < 2 ? '' : !keys.length ? 'The shown runs differ in no numeric config value.' : pts.length ? '' : 'No shown run has this result yet.';
}

// ------------------------------------------------------------------------------------- export

const fileStem = (title: string): string => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'chart';

/** The chart as drawn (datasets in pixels, ticks, stage lines) for the SVG writer. */
function svgOf(c: Chart<'line', Pt[]>, title: string): string {
  const x = c.scales.x;
  const y = c.scales.y;
  const px = (p: Pt): [number, number] => [x.getPixelForValue(p.x), y.getPixelForValue(p.y)];
  const series: SvgSeries[] = [];
  c.data.datasets.forEach((d, i) => {
    const label = String(d.label ?? '');
    const pts = (d.data as Pt[]).filter((p) => Number.isFinite(p.y)).map(px);
    const prev = c.data.datasets[i - 1];
    const color = String(d.borderColor ?? theme.foreground);
    if (d.fill === '-1' && prev) {
      series.push({ label, color, width: 0, dash: [], points: pts, fillTo: (prev.data as Pt[]).map(px), fillColor: String(d.backgroundColor), legend: false });
    } else if (d.showLine !== false && color !== 'transparent') {
      series.push({ label, color, width: Number(d.borderWidth ?? 1.5), dash: (d.borderDash as number[] | undefined) ?? [], points: pts, legend: !isHelperSeries(label) });
    }
  });
  const lines = ((c.options.plugins as { stageLines?: { lines: { x: number; label: string }[] } }).stageLines?.lines ?? []).map((l) => ({ px: x.getPixelForValue(l.x), label: l.label }));
  return chartSvg({
    width: c.width, height: c.height, title, area: c.chartArea,
    xTicks: x.ticks.map((t) => ({ px: x.getPixelForValue(t.value), label: String(t.label ?? t.value) })),
    yTicks: y.ticks.map((t) => ({ py: y.getPixelForValue(t.value), label: String(t.label ?? t.value) })),
    xTitle: X_AXIS_TITLES[axis()], yTitle: String((c.options.scales as { y?: { title?: { text?: string } } }).y?.title?.text ?? ''),
    stageLines: lines.filter((l) => l.px >= c.chartArea.left && l.px <= c.chartArea.right), series,
    foreground: theme.foreground, muted: theme.muted, grid: theme.grid, background: cssBackground(),
  });
}

const cssBackground = (): string => getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim() || '#ffffff';

function exportChart(id: string, title: string, format: 'png' | 'svg' | 'csv'): void {
  const c = charts[id];
  if (!c) return;
  const name = `${fileStem(title)}.${format}`;
  if (format === 'csv') {
    // The lines and their raw copies; the band edges and faint members are drawing aids.
    const series = c.data.datasets.filter((d) => { const r = roleOf.get(d); return r !== 'band' && r !== 'bandLo' && r !== 'member'; }).map((d) => ({ label: String(d.label), points: d.data as Pt[] }));
    post({ type: 'export', format, name, data: seriesCsv(X_AXIS_TITLES[axis()], series) });
  } else if (format === 'svg') {
    post({ type: 'export', format, name, data: svgOf(c, title) });
  } else {
    // The canvas is transparent: draw it on the editor background so the PNG reads as on screen.
    const canvas = document.createElement('canvas');
    canvas.width = c.canvas.width;
    canvas.height = c.canvas.height;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = cssBackground();
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(c.canvas, 0, 0);
    post({ type: 'export', format, name, data: canvas.toDataURL('image/png') });
  }
}

/** The run table as shown (filtered, sorted), as CSV with the numbers unformatted. */
function exportTable(): void {
  const { rows, keys, types } = tableRows();
  const iv = (i?: { mean: number; std: number; n: number; lo: number; hi: number }): (number | string)[] => (i ? [i.mean, i.n > 1 ? i.std : '', i.n, Number.isFinite(i.lo) ? i.lo : '', Number.isFinite(i.hi) ? i.hi : ''] : ['', '', '', '', '']);
  const ivHead = (n: string): string[] => [n, `${n} std`, `${n} N`, `${n} 95% lo`, `${n} 95% hi`];
  const head = ['row', 'label', 'runs', 'control', ...keys, ...ivHead('val kd'), ...ivHead('test kd'), ...types.flatMap((t) => ivHead(`test kd ${t}`)), ...ivHead('teacher'), ...ivHead('baseline'), 'gap closed', 'gap closed 95% lo', 'gap closed 95% hi', ...ivHead('KD - baseline'), ...ivHead('KD - control')];
  const body = rows.map((r) => [r.kind, r.label, r.keys.map((k) => runs.find((x) => x.info.key === k)?.info.runId ?? k).join(' '), r.control ? 'yes' : '', ...keys.map((k) => r.config[k] ?? ''),
    ...iv(r.valKd), ...iv(r.testKd), ...types.flatMap((t) => iv(r.byType[t])), ...iv(r.teacher), ...iv(r.baseline),
    r.gap?.value ?? '', r.gap && Number.isFinite(r.gap.lo) ? r.gap.lo : '', r.gap && Number.isFinite(r.gap.hi) ? r.gap.hi : '', ...iv(r.kdMinusBaseline), ...iv(r.kdMinusControl)]);
  post({ type: 'export', format: 'csv', name: 'run-table.csv', data: toCsv([head, ...body]) });
}

// ------------------------------------------------------------------------------------- run table

/** The rows the run table shows now (grouped or not, filtered, sorted). */
function tableRows(): { rows: TableRow[]; keys: string[]; types: string[] } {
  const built = buildRows(runs.map(tableRun), ui.grouped);
  const idsOf = (k: string): string[] => {
    const i = runs.find((r) => r.info.key === k)?.info;
    return i ? [i.runId, ...(i.tags ?? []).map((t) => `#${t}`), i.note ?? ''] : [];
  };
  const rows = sortRows(filterRows(built.rows, ui.tableFilter, idsOf), ui.tableSort.column, ui.tableSort.dir);
  const types = [...new Set(built.rows.flatMap((r) => Object.keys(r.byType)))].sort();
  return { rows, keys: built.keys, types };
}

function renderTableControls(): void {
  const box = document.getElementById('run-table-controls');
  if (!box) return;
  clear(box);
  const filter = h('vscode-textfield', { id: 'run-filter', placeholder: 'Filter: run id, #tag, value, key=value', value: ui.tableFilter, 'aria-label': 'Filter runs' }) as HTMLElement & { value: string };
  filter.addEventListener('input', () => {
    ui.tableFilter = filter.value;
    persist();
    runTable();
    writeDebug();
  });
  const csv = h('vscode-button', { id: 'export-run-table', secondary: true, icon: 'export', 'aria-label': 'Export the run table as CSV' }, 'Export CSV');
  csv.addEventListener('click', exportTable);
  box.append(filter, csv, checkbox('group-seeds', 'Group seeds (mean ± std over runs that differ only in the seed)', ui.grouped, (v) => {
    ui.grouped = v;
    persist();
    scheduleRender(true);
  }));
}

function runTable(): void {
  const table = document.getElementById('run-table') as HTMLTableElement | null;
  if (!table) return;
  const { rows, keys, types } = tableRows();
  const firstRun = (row: TableRow): RunData | undefined => runs.find((r) => r.info.key === row.keys[0]);
  renderRunTable(table, {
    rows, keys, types,
    sort: ui.tableSort,
    isShown: (row) => row.keys.some((k) => !ui.hidden.includes(k)),
    colorOf: (row) => { const r = firstRun(row); return r ? runColor(r) : theme.muted; },
    onSort: (column) => {
      ui.tableSort = { column, dir: ui.tableSort.column === column && ui.tableSort.dir === 'asc' ? 'desc' : 'asc' };
      persist();
      runTable();
      writeDebug();
    },
    tagsOf: (row) => [...new Set(row.keys.flatMap((k) => runs.find((r) => r.info.key === k)?.info.tags ?? []))],
    refId: ui.tableRef,
    onRef: (row) => {
      ui.tableRef = row.id;
      persist();
      runTable();
      writeDebug();
    },
    onToggle: (row, on) => {
      ui.hidden = on ? ui.hidden.filter((k) => !row.keys.includes(k)) : [...new Set([...ui.hidden, ...row.keys])];
      persist();
      scheduleRender(true);
    },
  });
  const note = document.getElementById('run-table-note');
  if (note) {
    const hiddenN = runs.filter((r) => ui.hidden.includes(r.info.key)).length;
    note.textContent = [
      keys.length ? '' : runs.length > 1 ? 'The shown runs have the same config.' : 'Add runs to compare their config and results.',
      hiddenN ? `${hiddenN} run${hiddenN === 1 ? '' : 's'} left out of the charts.` : '',
      rows.some((r) => r.kind === 'group') ? 'Groups: mean ± sample std over seeds; [lo, hi] = 95 % t interval of the seed-paired difference.' : '',
    ].filter(Boolean).join(' ');
  }
}

function writeDebug(): void {
  const series: Record<string, number> = {};
  for (const [id, c] of Object.entries(charts)) for (const [k, v] of Object.entries(pointCounts(c))) series[`${id}:${k}`] = v;
  setDebug('ready', {
    runs: runs.map((r) => ({ runId: r.info.runId, state: r.info.state, backend: r.info.backend, metrics: r.cols.globalStep.length, evals: r.evals.length })),
    series,
    stageLines: stageLinesFor().length,
    smoothing: ui.smoothing,
    weighted: ui.weighted,
    stage: ui.stage,
    xAxis: axis(),
    xTitle: X_AXIS_TITLES[axis()],
    lossX: (() => {
      const x = (charts.loss?.data.datasets ?? []).flatMap((d) => d.data.map((p) => p.x));
      return x.length ? { min: Math.min(...x), max: Math.max(...x) } : null;
    })(),
    typeSeries: ui.typeSeries,
    /** The run table as shown: row ids, labels and the text of each cell by column. */
    table: (() => {
      const t = document.getElementById('run-table');
      if (!t) return null;
      const cols = [...t.querySelectorAll('thead th')].map((th) => th.getAttribute('data-col'));
      return [...t.querySelectorAll('tbody tr')].map((tr) => ({ id: tr.getAttribute('data-row'), cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td, i) => [cols[i], (td.textContent ?? '').trim()])) }));
    })(),
    hidden: ui.hidden.length,
    xRange: ui.xRange,
    lossScale: charts.loss ? { min: charts.loss.scales.x.min, max: charts.loss.scales.x.max } : null,
    params: { key: ui.paramKey, metric: ui.paramMetric, points: (charts.params?.data.datasets ?? []).map((d) => ({ label: d.label, x: (d.data[0] as Pt | undefined)?.x, y: (d.data[0] as Pt | undefined)?.y })) },
    typeCharts: typeChartIds.length,
    grouped: ui.grouped,
    /** Top of the y axis of the breakdown and of each per-term chart (what scale a term is read at). */
    yMax: Object.fromEntries(['loss', ...TERM_CHARTS.map((t) => `term-${t}`)].map((id) => [id, charts[id]?.scales.y?.max ?? null])),
  });
}

// ------------------------------------------------------------------------------------- messages

function onMessage(m: HostMessage): void {
  resetRenderMemos();
  if (showCommonState(root, m)) return;
  switch (m.type) {
    case 'dashboard/init':
      runs = m.runs.map((info) => ({ info, cols: m.metrics[info.key], evals: m.evals[info.key] ?? [], config: m.configs?.[info.key] ?? {} })).filter((r) => r.cols);
      ui.hidden = ui.hidden.filter((k) => runs.some((r) => r.info.key === k));
      hyper = m.hyper;
      persist();
      if (!runs.length) {
        showNoRuns(root, { runs: [] }, { label: 'Add Run…', ariaLabel: 'Add Run…', onClick: () => post({ type: 'addRuns' }) });
        return;
      }
      buildLayout();
      renderControls();
      renderTableControls();
      renderRuns();
      renderHyper();
      break;
    case 'dashboard/append': {
      const r = runs.find((x) => x.info.key === m.key);
      if (!r) return;
      appendColumns(r.cols, m.metrics);
      for (const e of m.evals) r.evals.push(e);
      scheduleRender();
      break;
    }
    case 'run/status': {
      const r = runs.find((x) => x.info.key === m.run.key);
      if (!r) return;
      r.info = m.run;
      renderRuns();
      writeDebug();
      break;
    }
    case 'hyper/result': {
      if (m.target) hyper = hyper.map((t) => (t.experimentFile === m.target!.experimentFile ? m.target! : t));
      renderHyper({ ok: m.ok, text: m.message });
      const file = m.target?.experimentFile;
      if (m.ok && file) {
        const open = h('vscode-button', { id: 'hyper-open', secondary: true, icon: 'go-to-file', 'aria-label': 'Open kd-experiment.json' }, 'Open kd-experiment.json');
        open.addEventListener('click', () => post({ type: 'openFile', path: file }));
        document.getElementById('hyper-message')?.after(open);
      }
      break;
    }
    default:
      break;
  }
}

onThemeChange(() => {
  theme = chartTheme();
  for (const c of Object.values(charts)) restyleChart(c, theme);
  scheduleRender(true);
});

connect(onMessage);
