/**
 * How config problems are worded and which the extension shows itself: the diagnostic message
 * (what was expected and found when the sentence does not say it, "did you mean" at most once),
 * the problems VS Code's JSON support already reports (left to it, so each mistake is listed
 * once), the short notice when a run is asked of an invalid file, and the CodeLens title. Pure.
 */
import type { ConfigIssue } from '../../trainer/config';

/** The Problems text of an issue: its sentence, plus `(expected …, found …)` for what it does not already say. */
export function diagnosticMessage(i: ConfigIssue): string {
  // A suggestion says what is expected; `expected` repeats it ("a known key (did you mean …?)").
  const suggests = /did you mean/.test(i.message);
  const detail = [
    suggests || i.message.includes(i.expected) ? '' : `expected ${i.expected}`,
    i.message.includes(i.found) ? '' : `found ${i.found}`,
  ].filter(Boolean).join(', ');
  return detail ? `${i.message} (${detail})` : i.message;
}

/**
 * The issues our diagnostics list. Syntax errors and duplicate keys are reported by VS Code's
 * JSON language support for any .json file (when `json.validate.enable` is on), at the same
 * place: ours would list them a second time. (Schema problems are ours alone: the schema VS Code
 * gets describes and does not validate, see editorSchema.ts.)
 */
export function issuesToShow(issues: readonly ConfigIssue[], jsonServiceValidates: boolean): ConfigIssue[] {
  return jsonServiceValidates ? issues.filter((i) => i.kind !== 'syntax' && i.kind !== 'duplicate-key') : [...issues];
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * The notice when a run is asked of an invalid experiment file: the file once (relative to the
 * workspace), the first problem with its line, and how many more wait in Problems.
 */
export function invalidRunMessage(relFile: string, issues: readonly ConfigIssue[]): string {
  const first = issues[0];
  if (!first) return `${relFile} is not valid.`;
  const where = first.line !== undefined ? `line ${first.line}: ` : '';
  const rest = issues.length > 1 ? `, and ${issues.length - 1} more in Problems` : '';
  return `${relFile} has ${plural(issues.length, 'problem')}, so nothing was started: ${where}${first.message}${rest}.`;
}

/** Title of the CodeLens that replaces the run lenses over an invalid file. */
export function problemsLensTitle(count: number): string {
  return `$(error) ${plural(count, 'problem')}: fix ${count === 1 ? 'it' : 'them'} first`;
}
