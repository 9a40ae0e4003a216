/**
 * Seed groups in the charts: the member runs' series of one metric merged into the mean, with a
 * ± sample-std band, at every x where at least one member has a value (members of a group log
 * at the same steps, since only their seed differs), and how many members each x has.
 * Pure, unit-tested in test/webview-seedBands.test.ts.
 */
export type Pt = { x: number; y: number };

export interface Band {
  mean: Pt[];
  lo: Pt[];
  hi: Pt[];
  /** Members with a value at each x of `mean`. */
  n: number[];
}

/** Mean and mean ± std (n − 1; 0 where one member has the x) over the members, sorted by x. */
export function seedBand(members: readonly (readonly Pt[])[]): Band {
  const at = new Map<number, number[]>();
  for (const pts of members) for (const p of pts) {
    if (!Number.isFinite(p.y)) continue;
    if (!at.has(p.x)) at.set(p.x, []);
    at.get(p.x)!.push(p.y);
  }
  const xs = [...at.keys()].sort((a, b) => a - b);
  const out: Band = { mean: [], lo: [], hi: [], n: [] };
  for (const x of xs) {
    const ys = at.get(x)!;
    const m = ys.reduce((s, y) => s + y, 0) / ys.length;
    const sd = ys.length > 1 ? Math.sqrt(ys.reduce((s, y) => s + (y - m) ** 2, 0) / (ys.length - 1)) : 0;
    out.mean.push({ x, y: m });
    out.lo.push({ x, y: m - sd });
    out.hi.push({ x, y: m + sd });
    out.n.push(ys.length);
  }
  return out;
}

/** Whether the members share their x values (step axes); on wall time they do not, and are drawn one by one. */
export function alignedXs(members: readonly (readonly Pt[])[]): boolean {
  if (members.length < 2) return true;
  const first = new Set(members[0].map((p) => p.x));
  let shared = 0;
  for (const p of members[1]) if (first.has(p.x)) shared++;
  return shared >= 0.5 * Math.min(members[0].length, members[1].length);
}
