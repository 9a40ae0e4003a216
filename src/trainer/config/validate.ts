/**
 * Checks a merged config value against the declarative schema (schema.ts): unknown keys and bad
 * enum values (each with a "did you mean" suggestion when one is close), wrong types,
 * out-of-range numbers. Pure TypeScript.
 */
import { formatPath, showTyped, showValue, type ConfigIssue, type PathSegment } from './issues';
import { isPlainObject } from './merge';
import { ROOT_NODE, type NumberNode, type SchemaNode } from './schema';

/** Text of what a node accepts, e.g. `integer ≥ 1`, `number in [0, 1)`, `one of "a", "b"`. */
export function describeExpected(node: SchemaNode): string {
  switch (node.type) {
    case 'object': return 'an object';
    case 'boolean': return 'true or false';
    case 'string': return node.minLength ? 'a non-empty string' : 'a string';
    case 'enum': return `one of ${node.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'enumArray': return `an array of ${node.values.map((v) => JSON.stringify(v)).join(', ')}${node.unique ? ' (each at most once)' : ''}`;
    default: return describeNumber(node);
  }
}

function describeNumber(n: NumberNode): string {
  const lo = n.min ?? n.exclusiveMin;
  const hi = n.max ?? n.exclusiveMax;
  if (lo !== undefined && hi !== undefined) {
    return `${n.type} in ${n.min !== undefined ? '[' : '('}${lo}, ${hi}${n.max !== undefined ? ']' : ')'}`;
  }
  if (n.min !== undefined) return `${n.type} ≥ ${n.min}`;
  if (n.exclusiveMin !== undefined) return `${n.type} > ${n.exclusiveMin}`;
  if (n.max !== undefined) return `${n.type} ≤ ${n.max}`;
  if (n.exclusiveMax !== undefined) return `${n.type} < ${n.exclusiveMax}`;
  return n.type === 'integer' ? 'an integer' : 'a number';
}

function inRange(n: NumberNode, v: number): boolean {
  return (n.min === undefined || v >= n.min) && (n.max === undefined || v <= n.max)
    && (n.exclusiveMin === undefined || v > n.exclusiveMin) && (n.exclusiveMax === undefined || v < n.exclusiveMax);
}

/** Optimal-string-alignment edit distance (insert, delete, substitute, swap adjacent). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

const norm = (s: string): string => s.toLowerCase().replace(/[-_ ]/g, '');

/** The closest of `names` to `word` (case, `_` and `-` ignored), when it is close enough to be a typo. */
function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(norm(word), norm(n));
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(Math.max(word.length, best.length) / 3)) ? best : undefined;
}

/**
 * Best replacement for an unknown key among the keys of `node`: the closest sibling by edit
 * distance (case, `_` and `-` ignored), else a field of a child object with exactly that name
 * (`lr` under a stage -> `optimizer.lr`).
 */
export function suggestKey(key: string, node: SchemaNode): string | undefined {
  if (node.type !== 'object') return undefined;
  const names = Object.keys(node.fields);
  const near = closest(key, names);
  if (near !== undefined) return near;
  for (const n of names) {
    const child = node.fields[n];
    if (child.type === 'object') {
      const hit = Object.keys(child.fields).find((c) => norm(c) === norm(key));
      if (hit) return `${n}.${hit}`;
    }
  }
  return undefined;
}

/** Best replacement for a value an enum does not allow (`"wrold"` -> `"world"`), if one is close. */
export function suggestValue(value: string, values: readonly string[]): string | undefined {
  return closest(value, values);
}

/** `<message> (did you mean "x"?)` plus the suggestion record, or the message alone. */
function withValueHint(issue: ConfigIssue, value: unknown, values: readonly string[]): ConfigIssue {
  const hint = typeof value === 'string' ? suggestValue(value, values) : undefined;
  return hint ? { ...issue, message: `${issue.message} (did you mean ${JSON.stringify(hint)}?)`, suggestion: { of: 'value', text: hint } } : issue;
}

/** Every schema violation of `value` (a full, merged config), in document order. */
export function validateAgainstSchema(value: unknown, node: SchemaNode = ROOT_NODE, segs: PathSegment[] = []): ConfigIssue[] {
  const path = formatPath(segs);
  const expected = describeExpected(node);
  const bad = (message: string, found: string, exp = expected): ConfigIssue[] => [{ path, message, expected: exp, found }];
  if (value === undefined) return bad(`missing ${path}`, 'nothing');

  switch (node.type) {
    case 'object': {
      if (!isPlainObject(value)) return bad(`${path || 'the config'} must be an object`, showTyped(value));
      const out: ConfigIssue[] = [];
      for (const [k, v] of Object.entries(value)) {
        if (Object.prototype.hasOwnProperty.call(node.fields, k)) {
          out.push(...validateAgainstSchema(v, node.fields[k], [...segs, k]));
        } else {
          const hint = suggestKey(k, node);
          out.push({
            path: formatPath([...segs, k]),
            message: `unknown key ${JSON.stringify(k)}${path ? ` in ${path}` : ''}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
            expected: hint ? `a known key (did you mean ${JSON.stringify(hint)}?)` : `one of the keys ${Object.keys(node.fields).join(', ')}`,
            found: `unknown key ${JSON.stringify(k)}`,
            // `optimizer.lr` for `lr` is a move, not a rename: no replacement to offer.
            ...(hint && !hint.includes('.') ? { suggestion: { of: 'key' as const, text: hint } } : {}),
          });
        }
      }
      for (const [k, child] of Object.entries(node.fields)) {
        if (!Object.prototype.hasOwnProperty.call(value, k)) out.push(...validateAgainstSchema(undefined, child, [...segs, k]));
      }
      return out;
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : bad(`${path} must be true or false`, showTyped(value));
    case 'string':
      if (typeof value !== 'string') return bad(`${path} must be a string`, showTyped(value));
      return node.minLength && value.length < node.minLength ? bad(`${path} must not be empty`, '""') : [];
    case 'enum':
      if (typeof value !== 'string') return bad(`${path} must be a string, ${expected}`, showTyped(value));
      return node.values.includes(value) ? [] : bad(`${path}: ${showValue(value)} is not allowed; allowed values: ${node.values.join(', ')}`, showValue(value)).map((i) => withValueHint(i, value, node.values));
    case 'enumArray': {
      if (!Array.isArray(value)) return bad(`${path} must be an array`, showTyped(value));
      const out: ConfigIssue[] = [];
      const allowed = `one of ${node.values.map((v) => JSON.stringify(v)).join(', ')}`;
      value.forEach((item, i) => {
        const p = formatPath([...segs, i]);
        if (typeof item !== 'string' || !node.values.includes(item)) {
          out.push(withValueHint({ path: p, message: `${p}: ${showValue(item)} is not allowed; allowed values: ${node.values.join(', ')}`, expected: allowed, found: typeof item === 'string' ? showValue(item) : showTyped(item) }, item, node.values));
        } else if (node.unique && value.indexOf(item) < i) {
          out.push({ path: p, message: `${p}: ${JSON.stringify(item)} appears twice in ${path}`, expected: `${JSON.stringify(item)} at most once`, found: `a second ${JSON.stringify(item)}` });
        }
      });
      return out;
    }
    default: {
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad(`${path} must be ${node.type === 'integer' ? 'an integer' : 'a number'}`, showTyped(value));
      if (node.type === 'integer' && !Number.isInteger(value)) return bad(`${path} must be a whole number`, showValue(value));
      return inRange(node, value) ? [] : bad(`${path} is out of range: ${expected}`, showValue(value));
    }
  }
}
