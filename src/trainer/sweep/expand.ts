/**
 * Expands an experiment file's `sweep` section into its points: variants × grid combinations ×
 * random draws × seeds, each an experiment-file diff (the experiment's JSON with the variant, the
 * values and the seed applied), checked like an experiment file before anything is written.
 * Pure (no fs, no tensors): the caller reads the file.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../common/random';
import type { SweepPoint } from '../../common/sweepFormat';
import { fullPlan, selectStages } from '../../common/stagePlan';
import { formatIssue, parsePath, type ConfigIssue, type RandomDim, type SweepSpec } from '../config';
import { cloneJson, deepMerge, isPlainObject, setOwn } from '../config/merge';
import { validateExperiment, type SemanticOptions } from '../config/semantic';

/** A point before it has a sweep id, a run folder and a state (sweepFormat.ts SweepPoint). */
export type PlannedPoint = Pick<SweepPoint, 'index' | 'key' | 'group' | 'variant' | 'values' | 'seed' | 'stages' | 'from' | 'diff'>;

/** More points than this is a mistake in the definition, not a sweep (each point is a run). */
export const MAX_POINTS = 10000;

/** Sets `path` (dotted config path) in a diff, creating the objects on the way. */
function setPath(diff: Record<string, unknown>, path: string, value: unknown): void {
  const segs = parsePath(path).map(String);
  let o = diff;
  for (const s of segs.slice(0, -1)) {
    if (!isPlainObject(o[s])) setOwn(o, s, {});
    o = o[s] as Record<string, unknown>;
  }
  setOwn(o, segs[segs.length - 1], cloneJson(value));
}

/** One draw of a random dimension, floats to 6 significant digits (readable keys, exact JSON round trip). */
function draw(dim: RandomDim, r: () => number): unknown {
  const u = r();
  if ('uniform' in dim) return Number((dim.uniform[0] + u * (dim.uniform[1] - dim.uniform[0])).toPrecision(6));
  if ('logUniform' in dim) {
    const [lo, hi] = dim.logUniform.map(Math.log);
    return Number(Math.exp(lo + u * (hi - lo)).toPrecision(6));
  }
  if ('int' in dim) return dim.int[0] + Math.min(dim.int[1] - dim.int[0], Math.floor(u * (dim.int[1] - dim.int[0] + 1)));
  return cloneJson(dim.choice[Math.min(dim.choice.length - 1, Math.floor(u * dim.choice.length))]);
}

/** The value combinations: every grid combination (keys in file order) with every random draw. */
export function valueCombinations(spec: SweepSpec): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(spec.grid ?? {})) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
  if (spec.random) {
    const r = mulberry32(spec.random.seed ?? 0);
    const draws = Array.from({ length: spec.random.samples }, () => Object.fromEntries(Object.entries(spec.random!.space).map(([p, d]) => [p, draw(d, r)])));
    combos = combos.flatMap((c) => draws.map((d) => ({ ...c, ...d })));
  }
  return combos;
}

/** The seeds of every point: the list, 0 … n − 1 for a count, or the experiment's own seed. */
export function sweepSeeds(spec: SweepSpec, experimentSeed: number): number[] {
  if (Array.isArray(spec.seeds)) return spec.seeds;
  if (typeof spec.seeds === 'number') return Array.from({ length: spec.seeds }, (_, i) => i);
  return [experimentSeed];
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The points of a sweep, in order variant, value combination, seed (so a group's seeds are
 * neighbours). `experiment` is the experiment file's JSON without its sweep and slurm sections.
 */
export function planPoints(experiment: Record<string, unknown>, spec: SweepSpec, experimentSeed: number): PlannedPoint[] {
  const variants = Object.entries(spec.variants ?? { main: {} });
  const combos = valueCombinations(spec);
  const seeds = sweepSeeds(spec, experimentSeed);
  const total = variants.length * combos.length * seeds.length;
  if (total > MAX_POINTS) throw new Error(`sweep: ${variants.length} variants × ${combos.length} value combinations × ${seeds.length} seeds = ${total} points, over the limit of ${MAX_POINTS}`);
  const points: PlannedPoint[] = [];
  const indexOf = new Map<string, number>();
  for (const [variant, v] of variants) {
    for (const values of combos) {
      for (const seed of seeds) {
        const diff = typeof v === 'string' ? { ...cloneJson(experiment), preset: v } : deepMerge(experiment, v) as Record<string, unknown>;
        for (const [p, x] of Object.entries(values)) setPath(diff, p, x);
        diff.seed = seed;
        const valueKey = Object.entries(values).map(([p, x]) => `${p}=${show(x)}`).join(' ');
        const group = [`variant=${variant}`, valueKey].filter(Boolean).join(' ');
        const point: PlannedPoint = { index: points.length, key: `${group} seed=${seed}`, group, variant, values, seed, diff };
        indexOf.set(`${variant}|${JSON.stringify(values)}|${seed}`, point.index);
        points.push(point);
      }
    }
  }
  for (const p of points) {
    const sf = spec.startFrom?.[p.variant];
    if (!sf) continue;
    p.stages = sf.stages;
    p.from = indexOf.get(`${sf.variant}|${JSON.stringify(p.values)}|${p.seed}`);
  }
  return points;
}

/**
 * Checks every point as an experiment file (schema and semantic checks, data files relative to
 * the experiment) and the `--stages` of the variants that start from another; returns one line
 * per problem naming the point and the field.
 */
export function checkPoints(points: PlannedPoint[], source: string, opts: SemanticOptions = {}): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of points) {
    const { config, errors } = validateExperiment(p.diff, source, opts);
    const where = `${source}: sweep point ${p.index} (${p.key})`;
    const said = (e: ConfigIssue) => `${where}: ${formatIssue('', e).replace(/^: /, '')} (${e.message})`;
    // Grid dimensions repeat their problem in every point: say each one once.
    for (const e of errors) {
      const line = said(e);
      const sig = `${e.path}|${e.message}|${p.variant}`;
      if (!seen.has(sig)) { seen.add(sig); out.push(line); }
    }
    if (config && p.stages) {
      try {
        selectStages(fullPlan(config), p.stages);
      } catch (e) {
        out.push(`${source}: sweep.startFrom.${p.variant}.stages: ${(e as Error).message.replace(/^--stages: /, '')}`);
      }
    }
  }
  return [...new Set(out)];
}

/** Hash of what the points run: an unchanged definition has the same hash (`llava-kd sweep` resumes it). */
export function pointsHash(points: PlannedPoint[]): string {
  const h = createHash('sha256');
  for (const p of points) h.update(JSON.stringify([p.diff, p.stages ?? null, p.from ?? null]) + '\n');
  return h.digest('hex').slice(0, 12);
}
