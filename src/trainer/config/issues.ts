/**
 * Error records of config validation (`ConfigIssue`), the `ConfigError` that carries them, and
 * JSON-path helpers (`stages.dft.loss.rel`, `pipeline.kd[1]`). Pure TypeScript.
 */

/** One problem with an experiment config. */
export interface ConfigIssue {
  /** JSON path of the offending field, e.g. `stages.dft.loss.rel`, `pipeline.kd[1]`; '' for the whole file. */
  path: string;
  /** Human-readable sentence, e.g. `unknown key "lrr" (did you mean "lr"?)`. */
  message: string;
  /** What was expected, e.g. `number ≥ 0`, `one of "world", "llava"`. */
  expected: string;
  /** What was found, e.g. `"16" (a string)`. */
  found: string;
  /** Other fields involved (semantic checks), used to place the squiggle when `path` is not in the file. */
  related?: string[];
  /**
   * The replacement a "did you mean" in the message proposes, when it is a plain substitution:
   * of the key at `path` (an unknown key) or of its value (an unknown enum value or preset).
   */
  suggestion?: { of: 'key' | 'value'; text: string };
  /** Set on problems of the JSON text itself, which any JSON editor reports too. */
  kind?: 'syntax' | 'duplicate-key';
  /** 1-based line (and column) in the experiment file, when known. */
  line?: number;
  column?: number;
}

/**
 * One line per issue: `<source>: <path>: expected <expected>, found <found>`; the source becomes
 * `<source>:<line>:<column>` when the position is known (clickable in terminals).
 */
export function formatIssue(source: string, i: ConfigIssue): string {
  const where = i.line === undefined ? source : i.column === undefined ? `${source}:${i.line}` : `${source}:${i.line}:${i.column}`;
  return `${where}: ${i.path || '(file)'}: expected ${i.expected}, found ${i.found}`;
}

/** Thrown by resolveConfig / parseConfigText; `errors` lists every problem found. */
export class ConfigError extends Error {
  constructor(public readonly source: string, public readonly errors: ConfigIssue[]) {
    super(
      errors.length === 1
        ? formatIssue(source, errors[0])
        : `${source}: ${errors.length} problems in the experiment config:\n${errors.map((e) => `  ${formatIssue(source, e)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export type PathSegment = string | number;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Segments -> `a.b[2].c`; keys that are not identifiers are written `["a.b"]`. */
export function formatPath(segs: readonly PathSegment[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Inverse of formatPath. */
export function parsePath(path: string): PathSegment[] {
  const segs: PathSegment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) segs.push(Number(m[1]));
    else if (m[2] !== undefined) segs.push(JSON.parse(m[2]) as string);
    else segs.push(m[3]);
  }
  return segs;
}

/** Short JSON rendering of a found value, e.g. `"abc"`, `12`, `[1,2]`, `{…}`. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** JSON type name of a value: string, number, boolean, null, array, object. */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Found text for a value of the wrong type: `"16" (a string)`. */
export function showTyped(v: unknown): string {
  const t = jsonType(v);
  if (t === 'null') return 'null';
  if (t === 'object') return 'an object';
  const article = t === 'array' || t === 'object' ? 'an' : 'a';
  return `${showValue(v)} (${article} ${t})`;
}
