/**
 * Flattening and diffing of configs for the config-diff panel: nested keys joined with '.',
 * arrays written as JSON. Pure TypeScript with no imports (webviews use it).
 */

export type FlatValue = string | number | boolean;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `{ a: { b: 1 }, c: [1, 2] }` -> `{ 'a.b': 1, c: '[1,2]' }`. Arrays (and empty objects) become
 * their JSON text, null becomes 'null'. Keys keep the object's order.
 */
export function flattenConfig(obj: unknown, prefix = ''): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  const walk = (v: unknown, key: string): void => {
    if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, key ? `${key}.${k}` : k);
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[key] = v;
    } else {
      out[key] = v === undefined ? 'undefined' : JSON.stringify(v);
    }
  };
  walk(obj, prefix);
  return out;
}

export type DiffStatus = 'same' | 'changed' | 'added' | 'removed';

export interface ConfigDiffEntry {
  /** Flattened key, e.g. `stages.dft.loss.rel`. */
  key: string;
  /** Value in `a` (absent when the key is only in b). */
  a?: FlatValue;
  /** Value in `b` (absent when the key is only in a). */
  b?: FlatValue;
  /** `added`: only in b; `removed`: only in a. */
  status: DiffStatus;
}

/** Every flattened key of a and b (a's order, then keys only in b), with its status. Filter `status !== 'same'` for differences only. */
export function diffConfigs(a: unknown, b: unknown): ConfigDiffEntry[] {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const keys = [...Object.keys(fa), ...Object.keys(fb).filter((k) => !has(fa, k))];
  return keys.map((key) => {
    const inA = has(fa, key);
    const inB = has(fb, key);
    const status: DiffStatus = !inA ? 'added' : !inB ? 'removed' : Object.is(fa[key], fb[key]) ? 'same' : 'changed';
    return { key, ...(inA ? { a: fa[key] } : {}), ...(inB ? { b: fb[key] } : {}), status };
  });
}

export interface MultiDiffRow {
  key: string;
  /** Value in each config, in input order (undefined where the key is missing). */
  values: (FlatValue | undefined)[];
  /** True when not every config has the same value. */
  differs: boolean;
}

/** Side-by-side rows for any number of configs (the panel comparing several runs). */
export function diffManyConfigs(configs: readonly unknown[]): MultiDiffRow[] {
  const flats = configs.map((c) => flattenConfig(c));
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
  return keys.map((key) => {
    const values = flats.map((f) => (Object.prototype.hasOwnProperty.call(f, key) ? f[key] : undefined));
    return { key, values, differs: values.some((v) => !Object.is(v, values[0])) };
  });
}
