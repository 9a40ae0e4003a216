/**
 * Quick fixes of config issues as plain edits: an issue whose "did you mean" names a plain
 * replacement (a misspelt key, an unknown enum value or preset) becomes the range of that key or
 * value in the text and its replacement. Pure (no vscode), unit-tested in test/host-quickFix.test.ts.
 */
import type { ConfigIssue } from '../../trainer/config';
import { locatePath, splitPath, type TextRange } from './jsonLocate';

export interface QuickFixEdit {
  title: string;
  /** The issue's path, to match the fix with its diagnostic (its `code`). */
  path: string;
  /** Where the old key or value (a JSON string, quotes included) sits in the text. */
  range: TextRange;
  /** The replacement, a JSON string. */
  newText: string;
}

/** The string a JSON string literal holds, or undefined when `s` is something else. */
function jsonString(s: string): string | undefined {
  if (!s.startsWith('"')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The edit that applies an issue's suggestion, or undefined when it has none or the text moved on. */
export function quickFixFor(text: string, issue: ConfigIssue): QuickFixEdit | undefined {
  const s = issue.suggestion;
  if (!s || !issue.path) return undefined;
  const range = locatePath(text, issue.path, { key: s.of === 'key' });
  const old = jsonString(text.slice(range.offset, range.offset + range.length));
  // The value (or key) the issue is about must be what sits there, else locatePath fell back.
  const last = splitPath(issue.path).pop();
  const expectedOld = s.of === 'key' ? String(last) : jsonString(issue.found);
  if (old === undefined || old !== expectedOld) return undefined;
  const what = s.of === 'key' ? 'key' : 'value';
  return { title: `Change ${what} ${JSON.stringify(old)} to ${JSON.stringify(s.text)}`, path: issue.path, range, newText: JSON.stringify(s.text) };
}

/** Every quick fix of `issues` in `text`. */
export function quickFixes(text: string, issues: readonly ConfigIssue[]): QuickFixEdit[] {
  return issues.map((i) => quickFixFor(text, i)).filter((f): f is QuickFixEdit => f !== undefined);
}
