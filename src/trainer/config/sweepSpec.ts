/**
 * The `sweep` and `slurm` sections of an experiment file: their types and their validation
 * (every problem a ConfigIssue naming the field, with "did you mean" for misspelt keys and config
 * paths). Grid values and random ranges are checked against the config schema's own field
 * definitions. Pure TypeScript; the sweep expansion is in src/trainer/sweep/.
 */
import { formatPath, showTyped, showValue, type ConfigIssue, type PathSegment } from './issues';
import { isPlainObject } from './merge';
import { isPresetName, PRESET_NAMES } from './presets';
import { fieldAt, schemaLeaves, type LeafNode } from './schema';
import { describeExpected, suggestValue, validateAgainstSchema } from './validate';

/** A random dimension: a float uniform or log-uniform in [lo, hi], an integer in [lo, hi], or one of some values. */
export type RandomDim = { uniform: [number, number] } | { logUniform: [number, number] } | { int: [number, number] } | { choice: unknown[] };

export interface SweepSpec {
  /** Folder-safe name of the sweep (default: "sweep"). */
  name?: string;
  /** Config path → the values to try; the points are every combination. */
  grid?: Record<string, unknown[]>;
  /** `samples` random draws (seeded by `seed`) over config paths, combined with every grid point. */
  random?: { samples: number; seed?: number; space: Record<string, RandomDim> };
  /** Seeds of every point: a list, or a count n for seeds 0 … n − 1 (default: the experiment's seed). */
  seeds?: number[] | number;
  /** Named variants: a config diff over the experiment, or a preset name. Default: one variant, `main`, the experiment as it is. */
  variants?: Record<string, Record<string, unknown> | string>;
  /** Variants that start from another variant's run of the same seed and values, training only `stages` (e.g. the stage ablations). */
  startFrom?: Record<string, { variant: string; stages: string }>;
  /** Points at once on the local engine (default: the cores over each run's threads); the array's `%` limit on Slurm. */
  parallel?: number;
}

export interface SlurmSpec {
  partition?: string;
  /** `--time`: minutes, `MM:SS`, `HH:MM:SS` or `D-HH[:MM[:SS]]`. */
  time?: string;
  cpusPerTask?: number;
  /** `--mem`: e.g. `4G`, `500M`, or megabytes as a number. */
  mem?: string | number;
  /** More `#SBATCH` flags, each starting with `--` (e.g. `--qos=normal`). */
  extra?: string[];
  /** Shell lines run before the point's command in the batch script (e.g. `module load nodejs`). */
  setup?: string[];
}

const SWEEP_KEYS = ['name', 'grid', 'random', 'seeds', 'variants', 'startFrom', 'parallel'] as const;
const SLURM_KEYS = ['partition', 'time', 'cpusPerTask', 'mem', 'extra', 'setup'] as const;
const RANDOM_KINDS = ['uniform', 'logUniform', 'int', 'choice'] as const;
/** Folder-safe names (sweep and variant names become parts of folder names). */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SLURM_TIME = /^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+(:\d{2}(:\d{2})?)?)$/;
const SLURM_MEM = /^\d+[KMGT]?$/;

/** Config paths a sweep may vary: every leaf of the schema but `seed` (which `seeds` sets). */
function sweepablePaths(): string[] {
  return schemaLeaves().map(([p]) => p).filter((p) => p !== 'seed');
}

function unknownKey(segs: PathSegment[], key: string, known: readonly string[]): ConfigIssue {
  const near = suggestValue(key, known);
  const hint = near ? ` (did you mean "${near}"?)` : '';
  return { path: formatPath([...segs, key]), message: `unknown key "${key}" in ${formatPath(segs)}${hint}`, expected: `one of ${known.map((k) => `"${k}"`).join(', ')}`, found: `"${key}"`, ...(near ? { suggestion: { of: 'key' as const, text: near } } : {}) };
}

/** The leaf of a config path a sweep varies, or the issue saying why it cannot be varied. */
function leafOf(path: string, segs: PathSegment[]): LeafNode | ConfigIssue {
  if (path === 'seed') return { path: formatPath(segs), message: 'vary the seed with sweep.seeds, not a grid or random dimension', expected: 'a config path other than "seed"', found: '"seed"' };
  const node = fieldAt(path);
  if (node && node.type !== 'object') return node;
  const near = suggestValue(path, sweepablePaths());
  const hint = near ? ` (did you mean "${near}"?)` : '';
  return {
    path: formatPath(segs),
    message: node ? `"${path}" is a section of the config; a sweep varies single fields such as "${sweepablePaths().find((p) => p.startsWith(path + '.'))}"` : `unknown config path "${path}"${hint}`,
    expected: 'the dotted path of a config field, e.g. "stages.dft.loss.rel"', found: `"${path}"`,
    ...(near && !node ? { suggestion: { of: 'key' as const, text: near } } : {}),
  };
}

const isIssue = (x: LeafNode | ConfigIssue): x is ConfigIssue => 'message' in x;

function checkRange(v: unknown, segs: PathSegment[], leaf: LeafNode, kind: 'uniform' | 'logUniform' | 'int'): ConfigIssue[] {
  const path = formatPath(segs);
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || v[0] > v[1]) {
    return [{ path, message: `${kind} takes [lo, hi] with lo ≤ hi`, expected: '[lo, hi], two numbers with lo ≤ hi', found: showValue(v) }];
  }
  const out: ConfigIssue[] = [];
  if (leaf.type !== 'number' && leaf.type !== 'integer') out.push({ path, message: `${kind} draws numbers, but this field is ${describeExpected(leaf)}`, expected: 'a numeric config field (or use "choice")', found: showValue(v) });
  else if (kind !== 'int' && leaf.type === 'integer') out.push({ path, message: `${kind} draws fractions, but this field takes integers`, expected: '"int": [lo, hi] for an integer field', found: kind });
  if (kind === 'logUniform' && (v[0] as number) <= 0) out.push({ path, message: 'logUniform needs lo > 0', expected: 'lo > 0', found: String(v[0]) });
  if (kind === 'int' && !v.every(Number.isInteger)) out.push({ path, message: 'int takes integer bounds', expected: 'two integers', found: showValue(v) });
  // Both ends must be valid values of the field.
  if (!out.length) for (const [i, x] of v.entries()) out.push(...validateAgainstSchema(x, leaf, [...segs, i]));
  return out;
}

/** Problems of an experiment file's `sweep` section (its value as written). */
export function validateSweepSpec(raw: unknown): ConfigIssue[] {
  const root: PathSegment[] = ['sweep'];
  if (!isPlainObject(raw)) return [{ path: 'sweep', message: 'sweep must be an object', expected: 'an object with grid, random, seeds, variants …', found: showTyped(raw) }];
  const out: ConfigIssue[] = [];
  for (const k of Object.keys(raw)) if (!(SWEEP_KEYS as readonly string[]).includes(k)) out.push(unknownKey(root, k, SWEEP_KEYS));
  const at = (...s: PathSegment[]) => formatPath([...root, ...s]);
  if (raw.name !== undefined && (typeof raw.name !== 'string' || !SAFE_NAME.test(raw.name))) out.push({ path: at('name'), message: 'the sweep name becomes a folder name', expected: 'letters, digits, ".", "_" or "-" (1–64, starting with a letter or digit)', found: showValue(raw.name) });
  if (raw.grid !== undefined) {
    if (!isPlainObject(raw.grid)) out.push({ path: at('grid'), message: 'grid maps config paths to lists of values', expected: 'an object such as {"distill.temperature": [1, 2]}', found: showTyped(raw.grid) });
    else for (const [path, values] of Object.entries(raw.grid)) {
      const leaf = leafOf(path, [...root, 'grid', path]);
      if (isIssue(leaf)) { out.push(leaf); continue; }
      if (!Array.isArray(values) || values.length === 0) { out.push({ path: at('grid', path), message: 'a grid dimension is a non-empty list of values', expected: `a non-empty array of ${describeExpected(leaf)}`, found: showTyped(values) }); continue; }
      values.forEach((v, i) => out.push(...validateAgainstSchema(v, leaf, [...root, 'grid', path, i])));
      const seen = new Set(values.map((v) => JSON.stringify(v)));
      if (seen.size !== values.length) out.push({ path: at('grid', path), message: 'a value appears twice in a grid dimension (the same point twice)', expected: 'distinct values', found: showValue(values) });
    }
  }
  if (raw.random !== undefined) {
    const r = raw.random;
    if (!isPlainObject(r)) out.push({ path: at('random'), message: 'random is {samples, seed, space}', expected: 'an object', found: showTyped(r) });
    else {
      for (const k of Object.keys(r)) if (!['samples', 'seed', 'space'].includes(k)) out.push(unknownKey([...root, 'random'], k, ['samples', 'seed', 'space']));
      if (!Number.isInteger(r.samples) || (r.samples as number) < 1) out.push({ path: at('random', 'samples'), message: 'how many random draws', expected: 'integer ≥ 1', found: showValue(r.samples) });
      if (r.seed !== undefined && !Number.isInteger(r.seed)) out.push({ path: at('random', 'seed'), message: 'seed of the draws', expected: 'an integer', found: showValue(r.seed) });
      if (!isPlainObject(r.space) || !Object.keys(r.space).length) out.push({ path: at('random', 'space'), message: 'space maps config paths to distributions', expected: 'an object such as {"stages.dft.optimizer.lr": {"logUniform": [1e-4, 1e-2]}}', found: showTyped(r.space) });
      else for (const [path, dim] of Object.entries(r.space)) {
        const segs: PathSegment[] = [...root, 'random', 'space', path];
        const leaf = leafOf(path, segs);
        if (isIssue(leaf)) { out.push(leaf); continue; }
        const kinds = isPlainObject(dim) ? Object.keys(dim) : [];
        if (kinds.length !== 1 || !(RANDOM_KINDS as readonly string[]).includes(kinds[0])) {
          out.push({ path: formatPath(segs), message: 'a random dimension is one of {"uniform": [lo, hi]}, {"logUniform": [lo, hi]}, {"int": [lo, hi]}, {"choice": [values]}', expected: 'an object with one of the keys "uniform", "logUniform", "int", "choice"', found: showValue(dim) });
          continue;
        }
        const kind = kinds[0] as (typeof RANDOM_KINDS)[number];
        const v = (dim as Record<string, unknown>)[kind];
        if (kind === 'choice') {
          if (!Array.isArray(v) || !v.length) out.push({ path: formatPath([...segs, kind]), message: 'choice takes a non-empty list', expected: `a non-empty array of ${describeExpected(leaf)}`, found: showTyped(v) });
          else v.forEach((x, i) => out.push(...validateAgainstSchema(x, leaf, [...segs, kind, i])));
        } else out.push(...checkRange(v, [...segs, kind], leaf, kind));
      }
    }
  }
  if (raw.seeds !== undefined) {
    const s = raw.seeds;
    const okList = Array.isArray(s) && s.length > 0 && s.every((x) => Number.isInteger(x) && x >= 0) && new Set(s).size === s.length;
    if (!okList && !(Number.isInteger(s) && (s as number) >= 1)) out.push({ path: at('seeds'), message: 'the seeds of every point', expected: 'a count ≥ 1 (seeds 0 … n − 1) or a non-empty list of distinct integers ≥ 0', found: showValue(s) });
  }
  const variantNames = isPlainObject(raw.variants) ? Object.keys(raw.variants) : ['main'];
  if (raw.variants !== undefined) {
    if (!isPlainObject(raw.variants) || !Object.keys(raw.variants).length) out.push({ path: at('variants'), message: 'variants maps names to config diffs or preset names', expected: 'a non-empty object such as {"no-dpt": {"pipeline": {"kd": ["sft", "dft"]}}, "paper": "paper-weights"}', found: showTyped(raw.variants) });
    else for (const [name, v] of Object.entries(raw.variants)) {
      if (!SAFE_NAME.test(name)) out.push({ path: at('variants', name), message: 'a variant name becomes part of run keys and folder names', expected: 'letters, digits, ".", "_" or "-"', found: `"${name}"` });
      if (typeof v === 'string') {
        if (!isPresetName(v)) {
          const near = suggestValue(v, PRESET_NAMES);
          out.push({ path: at('variants', name), message: `unknown preset "${v}"${near ? ` (did you mean "${near}"?)` : ''}`, expected: `a config diff object or one of ${PRESET_NAMES.map((n) => `"${n}"`).join(', ')}`, found: showValue(v), ...(near ? { suggestion: { of: 'value' as const, text: near } } : {}) });
        }
      } else if (!isPlainObject(v)) out.push({ path: at('variants', name), message: 'a variant is a config diff or a preset name', expected: 'an object (a diff over the experiment) or a preset name', found: showTyped(v) });
      else if ('sweep' in v || 'slurm' in v) out.push({ path: at('variants', name), message: 'a variant cannot hold its own sweep or slurm section', expected: 'a config diff', found: 'a sweep/slurm key' });
    }
  }
  if (raw.startFrom !== undefined) {
    if (!isPlainObject(raw.startFrom)) out.push({ path: at('startFrom'), message: 'startFrom maps a variant to the variant it starts from', expected: 'an object such as {"pt-sft-dft": {"variant": "main", "stages": "kd"}}', found: showTyped(raw.startFrom) });
    else for (const [name, s] of Object.entries(raw.startFrom)) {
      if (!variantNames.includes(name)) { out.push({ path: at('startFrom', name), message: `no variant "${name}"`, expected: `one of the variants: ${variantNames.map((n) => `"${n}"`).join(', ')}`, found: `"${name}"` }); continue; }
      if (!isPlainObject(s) || typeof s.variant !== 'string' || typeof s.stages !== 'string' || Object.keys(s).some((k) => k !== 'variant' && k !== 'stages')) { out.push({ path: at('startFrom', name), message: 'startFrom entries are {variant, stages}', expected: '{"variant": "<another variant>", "stages": "<--stages spec, e.g. kd>"}', found: showValue(s) }); continue; }
      if (!variantNames.includes(s.variant) || s.variant === name) out.push({ path: at('startFrom', name, 'variant'), message: s.variant === name ? 'a variant cannot start from itself' : `no variant "${s.variant}"`, expected: `another variant: ${variantNames.filter((n) => n !== name).map((n) => `"${n}"`).join(', ')}`, found: `"${s.variant}"` });
      else if (isPlainObject(raw.startFrom[s.variant])) out.push({ path: at('startFrom', name, 'variant'), message: `"${s.variant}" itself starts from another variant; chains are not supported`, expected: 'a variant that runs from scratch', found: `"${s.variant}"` });
    }
  }
  if (raw.parallel !== undefined && (!Number.isInteger(raw.parallel) || (raw.parallel as number) < 1)) out.push({ path: at('parallel'), message: 'points at once', expected: 'integer ≥ 1', found: showValue(raw.parallel) });
  return out;
}

/** Problems of an experiment file's `slurm` section. */
export function validateSlurmSpec(raw: unknown): ConfigIssue[] {
  if (!isPlainObject(raw)) return [{ path: 'slurm', message: 'slurm must be an object', expected: 'an object with partition, time, cpusPerTask, mem, extra, setup', found: showTyped(raw) }];
  const out: ConfigIssue[] = [];
  for (const k of Object.keys(raw)) if (!(SLURM_KEYS as readonly string[]).includes(k)) out.push(unknownKey(['slurm'], k, SLURM_KEYS));
  const at = (k: string) => `slurm.${k}`;
  if (raw.partition !== undefined && (typeof raw.partition !== 'string' || !/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(raw.partition))) out.push({ path: at('partition'), message: 'the partition to submit to', expected: 'a partition name (or a comma-separated list)', found: showValue(raw.partition) });
  if (raw.time !== undefined && (typeof raw.time !== 'string' || !SLURM_TIME.test(raw.time))) out.push({ path: at('time'), message: 'the time limit of each point', expected: 'minutes, "MM:SS", "HH:MM:SS" or "D-HH[:MM[:SS]]"', found: showValue(raw.time) });
  if (raw.cpusPerTask !== undefined && (!Number.isInteger(raw.cpusPerTask) || (raw.cpusPerTask as number) < 1)) out.push({ path: at('cpusPerTask'), message: 'CPUs of each point', expected: 'integer ≥ 1', found: showValue(raw.cpusPerTask) });
  if (raw.mem !== undefined && !(typeof raw.mem === 'number' ? Number.isInteger(raw.mem) && raw.mem > 0 : typeof raw.mem === 'string' && SLURM_MEM.test(raw.mem))) out.push({ path: at('mem'), message: 'memory of each point', expected: 'megabytes (an integer), or a size such as "4G", "500M"', found: showValue(raw.mem) });
  for (const k of ['extra', 'setup'] as const) {
    const v = raw[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && !x.includes('\n'))) out.push({ path: at(k), message: k === 'extra' ? 'more #SBATCH flags' : 'shell lines before the command', expected: 'an array of one-line strings', found: showValue(v) });
    else if (k === 'extra') v.forEach((x, i) => { if (!/^--[A-Za-z]/.test(x as string)) out.push({ path: `slurm.extra[${i}]`, message: 'each extra flag is a long sbatch option', expected: 'a string starting with "--", e.g. "--qos=normal"', found: showValue(x) }); });
  }
  return out;
}
