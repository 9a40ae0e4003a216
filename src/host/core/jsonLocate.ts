/**
 * Maps a config path (`stages.dft.loss.vis`, `/stages/dft/loss/vis`, `pipeline.kd[1]`) to the
 * character range of that value in a JSON(C) text, for diagnostics. A path that does not exist
 * falls back to the deepest existing parent's key. Pure (no vscode), unit-tested in
 * test/host-jsonLocate.test.ts.
 */
import { parseTree, type Node } from 'jsonc-parser/lib/esm/main.js';

export interface TextRange {
  offset: number;
  length: number;
}

/** Splits a path string into segments (numbers for array indices). */
export function splitPath(p: string): (string | number)[] {
  return p
    .replace(/^\$\.?/, '')
    .split(/[./[\]]+/)
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * Range of the value at `p` in `text` (with `opts.key`: of its key, e.g. for an unknown key).
 * For a missing leaf: the key of the deepest existing ancestor (or the whole first line when
 * nothing matches or the text does not parse).
 */
export function locatePath(text: string, p: string, opts: { key?: boolean } = {}): TextRange {
  const root = parseTree(text);
  const firstLine = (): TextRange => {
    const nl = text.indexOf('\n');
    return { offset: 0, length: nl < 0 ? text.length : nl };
  };
  if (!root) return firstLine();
  let node: Node = root;
  let keyNode: Node | undefined;
  for (const seg of splitPath(p)) {
    let next: Node | undefined;
    let nextKey: Node | undefined;
    if (node.type === 'object' && node.children) {
      for (const prop of node.children) {
        const [k, v] = prop.children ?? [];
        if (k && String(k.value) === String(seg)) {
          next = v;
          nextKey = k;
          break;
        }
      }
    } else if (node.type === 'array' && node.children && typeof seg === 'number') {
      next = node.children[seg];
    }
    if (!next) {
      if (keyNode) return { offset: keyNode.offset, length: keyNode.length };
      return node === root ? firstLine() : { offset: node.offset, length: node.length };
    }
    node = next;
    keyNode = nextKey ?? keyNode;
  }
  if (node === root) return firstLine();
  if (opts.key && keyNode && keyNode.parent === node.parent) return { offset: keyNode.offset, length: keyNode.length };
  return { offset: node.offset, length: node.length };
}

/** 0-based line/character of an offset. */
export function offsetToPosition(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let last = -1;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, character: offset - last - 1 };
}

/** Offset of a 1-based line/column (clamped to the text). */
export function positionToOffset(text: string, line: number, column: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  const lineEnd = text.indexOf('\n', off);
  return Math.min(off + Math.max(0, column - 1), lineEnd < 0 ? text.length : lineEnd);
}

/**
 * Range to underline for a config issue: the value at its path (the key, for an unknown key)
 * when that is on the issue's line (or when the issue has no line), else the token at the
 * issue's line and column.
 */
export function issueRange(text: string, issue: { path: string; line?: number; column?: number; found?: string }): TextRange {
  const loc = locatePath(text, issue.path, { key: issue.found?.startsWith('unknown key ') ?? false });
  if (issue.line === undefined) return loc;
  const at = positionToOffset(text, issue.line, issue.column ?? 1);
  if (issue.path && offsetToPosition(text, loc.offset).line === issue.line - 1) return loc;
  const rest = /^[^\s,:]*/.exec(text.slice(at))![0];
  return { offset: at, length: Math.max(1, rest.length) };
}
