/**
 * Zoom and pan of the dashboard's line charts on the x axis: a drag across a chart selects the
 * range to zoom to, Shift+drag pans the zoomed range, a double click resets; every line chart
 * shows the same range (they share the x axis). The range math is pure and unit-tested in
 * test/webview-zoom.test.ts; `attachZoom` wires the mouse on a chart's canvas.
 */

export type XRange = { min: number; max: number };

/** The range a drag from value `a` to value `b` selects, or null when it spans less than `minSpan` (a click). */
export function rangeFromDrag(a: number, b: number, minSpan: number): XRange | null {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return hi - lo < minSpan ? null : { min: lo, max: hi };
}

/** `r` moved by `delta`, kept inside `[lo, hi]` (the data's extent) with its width unchanged. */
export function panBy(r: XRange, delta: number, lo: number, hi: number): XRange {
  const w = r.max - r.min;
  let min = r.min + delta;
  if (min < lo) min = lo;
  if (min + w > hi) min = Math.max(lo, hi - w);
  return { min, max: min + w };
}

export interface ZoomTarget {
  canvas: HTMLCanvasElement;
  /** Pixel x (relative to the canvas) -> x value, and the plot's left/right pixels. */
  valueAt: (px: number) => number;
  area: () => { left: number; right: number };
  /** Current range shown and the data's extent. */
  range: () => XRange;
  extent: () => XRange;
  onRange: (r: XRange | null) => void;
}

/** Mouse handling on one chart: drag = zoom, Shift+drag = pan, double click = reset. Returns the detach function. */
export function attachZoom(t: ZoomTarget, overlay: HTMLElement): () => void {
  const ctl = new AbortController();
  const signal = ctl.signal;
  let start: { px: number; pan: boolean; range: XRange } | null = null;
  const pxOf = (e: MouseEvent): number => e.clientX - t.canvas.getBoundingClientRect().left;
  t.canvas.addEventListener('mousedown', (e) => {
    if (e.button !== 0) return;
    const px = pxOf(e);
    const a = t.area();
    if (px < a.left || px > a.right) return;
    start = { px, pan: e.shiftKey, range: t.range() };
    e.preventDefault();
  }, { signal });
  window.addEventListener('mousemove', (e) => {
    if (!start) return;
    const px = Math.max(t.area().left, Math.min(t.area().right, pxOf(e)));
    if (start.pan) {
      const ext = t.extent();
      t.onRange(panBy(start.range, t.valueAt(start.px) - t.valueAt(px), ext.min, ext.max));
      return;
    }
    overlay.style.display = 'block';
    overlay.style.left = `${Math.min(start.px, px)}px`;
    overlay.style.width = `${Math.abs(px - start.px)}px`;
  }, { signal });
  window.addEventListener('mouseup', (e) => {
    if (!start) return;
    const s = start;
    start = null;
    overlay.style.display = 'none';
    if (s.pan) return;
    const px = Math.max(t.area().left, Math.min(t.area().right, pxOf(e)));
    if (Math.abs(px - s.px) < 5) return;
    const r = rangeFromDrag(t.valueAt(s.px), t.valueAt(px), 0);
    if (r) t.onRange(r);
  }, { signal });
  t.canvas.addEventListener('dblclick', () => t.onRange(null), { signal });
  return () => ctl.abort();
}
