/**
 * Deep merge of a config diff over a base config: objects merge key by key, arrays and
 * every other value replace. Pure; never mutates its inputs; safe against `__proto__` keys.
 */

/** A recursive partial of T (arrays are replaced whole, so they stay complete). */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Sets an own enumerable property even for keys such as `__proto__`. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Deep copy of JSON-like data. */
export function cloneJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, cloneJson(x));
    return out as T;
  }
  return v;
}

/** `diff` over `base`: plain objects merge recursively; anything else in `diff` replaces. */
export function deepMerge(base: unknown, diff: unknown): unknown {
  if (diff === undefined) return cloneJson(base);
  if (!isPlainObject(base) || !isPlainObject(diff)) return cloneJson(diff);
  const out = cloneJson(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(diff)) {
    setOwn(out, k, Object.prototype.hasOwnProperty.call(out, k) ? deepMerge(out[k], v) : cloneJson(v));
  }
  return out;
}
