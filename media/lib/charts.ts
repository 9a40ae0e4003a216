/**
 * chart.js 4 setup of the dashboard: the registered pieces (line charts with linear/log axes and
 * LTTB decimation), a `stageLines` plugin drawing a dashed vertical line and label where each
 * stage begins (labels placed by stageLabels.ts), and a factory for the themed, non-animated, parsing:false line charts that stay
 * fluid with 100k points.
 */
import {
  Chart, Decimation, Filler, Legend, LineController, ScatterController, LineElement, LinearScale, LogarithmicScale, PointElement, Tooltip,
  type ChartDataset, type LegendItem, type Plugin, type TooltipItem,
} from 'chart.js';
import type { ChartTheme } from './theme';
import { layoutStageLabels } from './stageLabels';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Decimation, Filler, Legend, Tooltip);

/** Datasets drawn but not listed in legends and tooltips: raw copies, seed-group bands and members. */
export const isHelperSeries = (label: string): boolean => /\((raw|band|band lo|member [^)]*)\)$/.test(label);

export interface StageLine {
  x: number;
  label: string;
}

export interface StageLinesOptions {
  lines: StageLine[];
  color: string;
}

/** Draws the stage boundaries after the datasets (dashed line + stage id at the top). */
export const stageLinesPlugin: Plugin<'line', StageLinesOptions> = {
  id: 'stageLines',
  afterDatasetsDraw(chart, _args, opts) {
    const lines = opts?.lines ?? [];
    if (!lines.length) return;
    const { ctx, chartArea } = chart;
    const x = chart.scales.x;
    if (!x) return;
    ctx.save();
    ctx.strokeStyle = opts.color;
    ctx.fillStyle = opts.color;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'top';
    const shown: { px: number; label: string }[] = [];
    for (const l of lines) {
      const px = Math.round(x.getPixelForValue(l.x)) + 0.5;
      if (px < chartArea.left - 1 || px > chartArea.right + 1) continue;
      ctx.beginPath();
      ctx.moveTo(px, chartArea.top);
      ctx.lineTo(px, chartArea.bottom);
      ctx.stroke();
      shown.push({ px, label: l.label });
    }
    // Every label inside the plot, stacked on rows where they would overlap (never clipped).
    const placed = layoutStageLabels(shown.map((l) => ({ px: l.px, width: ctx.measureText(l.label).width })), chartArea.left, chartArea.right);
    placed.forEach((p, i) => ctx.fillText(shown[i].label, p.x, chartArea.top + 2 + p.row * 11));
    ctx.restore();
  },
};
Chart.register(stageLinesPlugin);

export type Pt = { x: number; y: number };
export type LineDataset = ChartDataset<'line', Pt[]>;

export interface LineChartOptions {
  yTitle: string;
  xTitle?: string;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  /** Percent axis (accuracy). */
  percent?: boolean;
}

/** A themed line chart with decimation, no animation and pre-parsed `{x, y}` data. */
export function makeLineChart(canvas: HTMLCanvasElement, theme: ChartTheme, o: LineChartOptions): Chart<'line', Pt[]> {
  Chart.defaults.font.family = theme.font;
  return new Chart<'line', Pt[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: 'x',
      spanGaps: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4, hoverRadius: 3 }, line: { borderWidth: 1.5, tension: 0 } },
      scales: {
        x: { type: 'linear', bounds: 'data', title: { display: true, text: o.xTitle ?? 'global step', color: theme.muted }, ticks: { color: theme.muted, maxTicksLimit: 8 }, grid: { color: theme.grid } },
        y: {
          type: o.logY ? 'logarithmic' : 'linear',
          min: o.yMin,
          max: o.yMax,
          title: { display: true, text: o.yTitle, color: theme.muted },
          ticks: { color: theme.muted, maxTicksLimit: 6, ...(o.percent ? { callback: (v) => `${Math.round(Number(v) * 100)}%` } : {}) },
          grid: { color: theme.grid },
        },
      },
      plugins: {
        decimation: { enabled: true, algorithm: 'lttb', samples: 800, threshold: 1600 },
        legend: {
          labels: { color: theme.foreground, boxWidth: 12, boxHeight: 2, filter: (item: LegendItem) => !isHelperSeries(String(item.text)) },
        },
        tooltip: {
          filter: (item: TooltipItem<'line'>) => !isHelperSeries(String(item.dataset.label)),
          callbacks: {
            label: (ctx: TooltipItem<'line'>) => {
              const y = ctx.parsed.y ?? NaN;
              return `${ctx.dataset.label}: ${o.percent ? `${(y * 100).toFixed(1)}%` : formatNum(y)}`;
            },
            title: (items: TooltipItem<'line'>[]) => {
              if (!items.length) return '';
              const x = items[0].parsed.x ?? NaN;
              const axis = (items[0].chart.options.scales as { x?: { title?: { text?: string } } }).x?.title?.text ?? 'step';
              return `${axis} ${Number.isInteger(x) ? x : x.toFixed(2)}`;
            },
          },
        },
        stageLines: { lines: [], color: theme.stageLine },
      } as never,
    },
  });
}

/** A themed scatter chart (parameters vs results): one dataset per run, its point labelled in the tooltip. */
export function makeScatterChart(canvas: HTMLCanvasElement, theme: ChartTheme, o: { xTitle: string; yTitle: string; percentY: boolean }): Chart<'line', Pt[]> {
  Chart.defaults.font.family = theme.font;
  return new Chart(canvas, {
    type: 'scatter',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      elements: { point: { radius: 5, hoverRadius: 7 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: o.xTitle, color: theme.muted }, ticks: { color: theme.muted }, grid: { color: theme.grid } },
        y: {
          type: 'linear',
          title: { display: true, text: o.yTitle, color: theme.muted },
          ticks: { color: theme.muted, ...(o.percentY ? { callback: (v) => `${Math.round(Number(v) * 100)}%` } : {}) },
          grid: { color: theme.grid },
        },
      },
      plugins: {
        legend: { labels: { color: theme.foreground, boxWidth: 10 } },
        tooltip: { callbacks: { label: (ctx: TooltipItem<'scatter'>) => `${ctx.dataset.label}: x ${formatNum(ctx.parsed.x ?? NaN)}, ${o.percentY ? `${((ctx.parsed.y ?? NaN) * 100).toFixed(1)}%` : formatNum(ctx.parsed.y ?? NaN)}` } },
        stageLines: { lines: [], color: theme.stageLine },
      } as never,
    },
  }) as unknown as Chart<'line', Pt[]>;
}

/** Applies a new theme to an existing chart. */
export function restyleChart(chart: Chart<'line', Pt[]>, theme: ChartTheme): void {
  const s = chart.options.scales as Record<string, { ticks?: { color?: string }; grid?: { color?: string }; title?: { color?: string } }>;
  for (const ax of Object.values(s)) {
    if (ax.ticks) ax.ticks.color = theme.muted;
    if (ax.grid) ax.grid.color = theme.grid;
    if (ax.title) ax.title.color = theme.muted;
  }
  const p = chart.options.plugins as { legend?: { labels?: { color?: string } }; stageLines?: StageLinesOptions };
  if (p.legend?.labels) p.legend.labels.color = theme.foreground;
  if (p.stageLines) p.stageLines.color = theme.stageLine;
}

/** Sets the x-axis title (the dashboard's x-axis choice). */
export function setXTitle(chart: Chart<'line', Pt[]>, text: string): void {
  const x = (chart.options.scales as { x?: { title?: { text?: string } } }).x;
  if (x?.title) x.title.text = text;
}

export function setStageLines(chart: Chart<'line', Pt[]>, lines: StageLine[]): void {
  (chart.options.plugins as { stageLines?: StageLinesOptions }).stageLines!.lines = lines;
}

export function formatNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

/** Number of points the chart holds per dataset label (before decimation). */
export function pointCounts(chart: Chart<'line', Pt[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of chart.data.datasets) {
    const raw = (d as unknown as { _data?: Pt[] })._data ?? d.data;
    out[String(d.label)] = raw.length;
  }
  return out;
}
