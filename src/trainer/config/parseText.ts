/**
 * Parses the text of an experiment file (strict JSON) with jsonc-parser, reporting syntax
 * errors and duplicate keys with line and column, and maps JSON paths (`stages.dft.loss.rel`)
 * to their position in the text so errors can be shown on the right line. Pure TypeScript.
 */
// The ESM build: esbuild (platform node) would pick the UMD `main`, whose lazy require('./impl/...')
// calls are not bundled and fail at run time ("Cannot find module './impl/format'").
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { ConfigError, formatPath, parsePath, type ConfigIssue, type PathSegment } from './issues';
import { setOwn } from './merge';

/** A position range in the text; line and column are 1-based. */
export interface TextSpan {
  offset: number;
  length: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Where a JSON path sits in the text: its key (object members) and its value. */
export interface PathLocation {
  key?: TextSpan;
  value: TextSpan;
}

export interface ParsedConfig {
  /** The parsed JSON value (`__proto__` keys are plain own properties). */
  value: unknown;
  /** Location of a path, or undefined when the path is not in the text. */
  locate(path: string): PathLocation | undefined;
  /**
   * Line and column for an issue: of `path` if it is in the text, else of the first of
   * `related` that is, else of the nearest ancestor of `path` that is. Undefined if none is.
   */
  positionOf(path: string, related?: readonly string[]): { line: number; column: number } | undefined;
  /** Copies of the issues with `line` and `column` filled in where the text has them, sorted by position (unplaced last). */
  withPositions(issues: readonly ConfigIssue[]): ConfigIssue[];
}

const SYNTAX_EXPECTED: Record<string, string> = {
  InvalidSymbol: 'a JSON value',
  InvalidNumberFormat: 'a number',
  PropertyNameExpected: 'a property name in double quotes',
  ValueExpected: 'a value',
  ColonExpected: '":"',
  CommaExpected: '","',
  CloseBraceExpected: '"}"',
  CloseBracketExpected: '"]"',
  EndOfFileExpected: 'end of file',
  InvalidCommentToken: 'no comments (comments are not allowed in JSON)',
  UnexpectedEndOfComment: 'the end of the comment',
  UnexpectedEndOfString: 'a closing double quote',
  UnexpectedEndOfNumber: 'a digit',
  InvalidUnicode: 'a \\uXXXX escape',
  InvalidEscapeCharacter: 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
  InvalidCharacter: 'no control character inside a string',
};

/** Converts offsets to 1-based line/column. */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\n') this.starts.push(i + 1);
    }
  }
  pos(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }
  span(offset: number, length: number): TextSpan {
    const a = this.pos(offset);
    const b = this.pos(offset + length);
    return { offset, length, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

function foundAt(text: string, offset: number, length: number): string {
  if (offset >= text.length) return 'end of file';
  const token = length > 0 ? text.slice(offset, offset + length) : (/^\S{1,20}/.exec(text.slice(offset))?.[0] ?? text[offset]);
  return token.length > 20 ? `${token.slice(0, 20)}…` : token;
}

/** Plain value of a tree node; records duplicate keys. */
function toValue(node: Node, segs: PathSegment[], dup: (segs: PathSegment[], key: Node, first: Node) => void): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const seen = new Map<string, Node>();
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (!k || !v) continue;
        const key = String(k.value);
        const first = seen.get(key);
        if (first) dup([...segs, key], k, first);
        else seen.set(key, k);
        setOwn(out, key, toValue(v, [...segs, key], dup));
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map((c, i) => toValue(c, [...segs, i], dup));
    default:
      return node.value;
  }
}

/**
 * Parses experiment-file text. Throws ConfigError naming `source`, line and column on a JSON
 * syntax error or a duplicate key.
 */
export function parseConfigText(text: string, source: string): ParsedConfig {
  const body = text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text; // keep offsets with a BOM
  const lines = new LineIndex(body);
  const errors: ParseError[] = [];
  const root = parseTree(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0 || !root) {
    const e = errors[0] ?? { error: 4, offset: 0, length: 0 };
    const code = printParseErrorCode(e.error);
    const { line, column } = lines.pos(e.offset);
    const expected = SYNTAX_EXPECTED[code] ?? code;
    const found = foundAt(body, e.offset, e.length);
    throw new ConfigError(source, [{
      path: '',
      message: `JSON syntax error at line ${line}, column ${column}: expected ${expected}, found ${found}`,
      expected,
      found,
      kind: 'syntax',
      line,
      column,
    }]);
  }

  const dups: ConfigIssue[] = [];
  const value = toValue(root, [], (segs, key, first) => {
    const p = lines.pos(key.offset);
    const f = lines.pos(first.offset);
    dups.push({
      path: formatPath(segs),
      message: `duplicate key ${JSON.stringify(segs[segs.length - 1])} (first at line ${f.line})`,
      expected: 'each key at most once per object',
      found: `a second ${JSON.stringify(segs[segs.length - 1])} (the first is at line ${f.line})`,
      kind: 'duplicate-key',
      line: p.line,
      column: p.column,
    });
  });
  if (dups.length) throw new ConfigError(source, dups);

  const locate = (path: string): PathLocation | undefined => {
    let node: Node | undefined = root;
    let keyNode: Node | undefined;
    for (const seg of parsePath(path)) {
      keyNode = undefined;
      if (!node) return undefined;
      if (typeof seg === 'number') {
        node = node.type === 'array' ? node.children?.[seg] : undefined;
      } else if (node.type === 'object') {
        const prop: Node | undefined = [...(node.children ?? [])].reverse().find((p) => p.children?.[0]?.value === seg);
        keyNode = prop?.children?.[0];
        node = prop?.children?.[1];
      } else {
        node = undefined;
      }
    }
    if (!node) return undefined;
    return { key: keyNode && lines.span(keyNode.offset, keyNode.length), value: lines.span(node.offset, node.length) };
  };

  const positionOf = (path: string, related: readonly string[] = []): { line: number; column: number } | undefined => {
    const at = (p: string): { line: number; column: number } | undefined => {
      const loc = locate(p);
      const s = loc?.key ?? loc?.value;
      return s && { line: s.line, column: s.column };
    };
    for (const p of [path, ...related]) {
      if (p === '') continue;
      const hit = at(p);
      if (hit) return hit;
    }
    const segs = parsePath(path);
    for (let n = segs.length - 1; n > 0; n--) {
      const hit = at(formatPath(segs.slice(0, n)));
      if (hit) return hit;
    }
    return undefined;
  };

  return {
    value,
    locate,
    positionOf,
    withPositions: (issues) => issues
      .map((i) => {
        if (i.line !== undefined) return { ...i };
        const pos = positionOf(i.path, i.related);
        return pos ? { ...i, ...pos } : { ...i };
      })
      .map((i, n) => [i, n] as const)
      .sort(([a, an], [b, bn]) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0) || an - bn)
      .map(([i]) => i),
  };
}
