/**
 * Export formats of the dashboard: CSV text (RFC 4180 quoting) from rows of cells, a chart's
 * series in long form (series, x, y), and a standalone SVG of a chart drawn from a plain
 * description in pixels (axes, ticks, titles, stage lines, series polylines, band fills, legend),
 * so the SVG is vector data rather than an embedded bitmap.
 * Pure (no DOM, no chart.js), unit-tested in test/webview-exporters.test.ts.
 */

/** One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled). */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Series in long form: a header, then one row per point. */
export function seriesCsv(xTitle: string, series: readonly { label: string; points: readonly { x: number; y: number }[] }[]): string {
  const rows: (string | number)[][] = [['series', xTitle, 'value']];
  for (const s of series) for (const p of s.points) rows.push([s.label, p.x, p.y]);
  return toCsv(rows);
}

export interface SvgSeries {
  label: string;
  color: string;
  width: number;
  dash: number[];
  /** Pixel points of the line (empty for a fill-only band). */
  points: [number, number][];
  /** A band: the polygon between `points` and these lower-edge points. */
  fillTo?: [number, number][];
  fillColor?: string;
  /** Listed in the legend (helper series such as raw copies are not). */
  legend: boolean;
}

export interface SvgChart {
  width: number;
  height: number;
  title: string;
  area: { left: number; top: number; right: number; bottom: number };
  xTicks: { px: number; label: string }[];
  yTicks: { py: number; label: string }[];
  xTitle: string;
  yTitle: string;
  stageLines: { px: number; label: string }[];
  series: SvgSeries[];
  foreground: string;
  muted: string;
  grid: string;
  background: string;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const n = (v: number): string => (Math.round(v * 10) / 10).toString();
const pts = (p: readonly [number, number][]): string => p.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');

export function chartSvg(c: SvgChart): string {
  const { left, top, right, bottom } = c.area;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${n(c.width)}" height="${n(c.height + 24)}" viewBox="0 0 ${n(c.width)} ${n(c.height + 24)}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(c.title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="${esc(c.background)}"/>`);
  out.push(`<text x="${n(left)}" y="14" font-weight="600" font-size="13" fill="${esc(c.foreground)}">${esc(c.title)}</text>`);
  out.push(`<g transform="translate(0,24)">`);
  for (const t of c.yTicks) {
    out.push(`<line x1="${n(left)}" x2="${n(right)}" y1="${n(t.py)}" y2="${n(t.py)}" stroke="${esc(c.grid)}" stroke-width="1"/>`);
    out.push(`<text x="${n(left - 4)}" y="${n(t.py + 4)}" text-anchor="end" fill="${esc(c.muted)}">${esc(t.label)}</text>`);
  }
  for (const t of c.xTicks) {
    out.push(`<line x1="${n(t.px)}" x2="${n(t.px)}" y1="${n(top)}" y2="${n(bottom)}" stroke="${esc(c.grid)}" stroke-width="1"/>`);
    out.push(`<text x="${n(t.px)}" y="${n(bottom + 14)}" text-anchor="middle" fill="${esc(c.muted)}">${esc(t.label)}</text>`);
  }
  out.push(`<text x="${n((left + right) / 2)}" y="${n(bottom + 30)}" text-anchor="middle" fill="${esc(c.muted)}">${esc(c.xTitle)}</text>`);
  out.push(`<text transform="translate(12,${n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" fill="${esc(c.muted)}">${esc(c.yTitle)}</text>`);
  out.push(`<defs><clipPath id="plot"><rect x="${n(left)}" y="${n(top)}" width="${n(right - left)}" height="${n(bottom - top)}"/></clipPath></defs>`);
  out.push(`<g clip-path="url(#plot)">`);
  for (const s of c.series) {
    if (s.fillTo && s.points.length) {
      out.push(`<polygon points="${pts([...s.points, ...[...s.fillTo].reverse()])}" fill="${esc(s.fillColor ?? s.color)}" stroke="none"/>`);
    } else if (s.points.length) {
      const dash = s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
      out.push(`<polyline points="${pts(s.points)}" fill="none" stroke="${esc(s.color)}" stroke-width="${n(s.width)}"${dash}><title>${esc(s.label)}</title></polyline>`);
    }
  }
  out.push('</g>');
  for (const l of c.stageLines) {
    out.push(`<line x1="${n(l.px)}" x2="${n(l.px)}" y1="${n(top)}" y2="${n(bottom)}" stroke="${esc(c.muted)}" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${n(l.px + 3)}" y="${n(top + 10)}" font-size="10" fill="${esc(c.muted)}">${esc(l.label)}</text>`);
  }
  out.push(`<rect x="${n(left)}" y="${n(top)}" width="${n(right - left)}" height="${n(bottom - top)}" fill="none" stroke="${esc(c.grid)}"/>`);
  out.push('</g>');
  // Legend on one line under the title.
  let x = left + Math.max(180, c.title.length * 7.5);
  for (const s of c.series.filter((v) => v.legend)) {
    const dash = s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
    out.push(`<line x1="${n(x)}" x2="${n(x + 14)}" y1="10" y2="10" stroke="${esc(s.color)}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${n(x + 18)}" y="14" fill="${esc(c.foreground)}">${esc(s.label)}</text>`);
    x += 28 + s.label.length * 6.2;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
