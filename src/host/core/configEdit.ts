/**
 * Edits of kd-experiment.json made from the dashboard's hyper-parameter form: sets
 * `stages.<kind>.optimizer.lr` and `stages.<kind>.loss.{ce,res,vis,rel}` with jsonc-parser
 * (comments and layout kept) and reduces the change to one minimal replace, which the host
 * applies as an ordinary undoable WorkspaceEdit. Also reads the effective per-stage values of a
 * resolved config for the form. Pure (no vscode), unit-tested in test/host-configEdit.test.ts.
 */
import { applyEdits, modify, parseTree, type FormattingOptions } from 'jsonc-parser/lib/esm/main.js';
import type { StageKind } from '../../common/runFormat';
import { EDITABLE_STAGE_KINDS, type HyperValues, type StageHyper } from '../../common/messages';

export interface ReplaceEdit {
  offset: number;
  length: number;
  text: string;
}

/** The single smallest replace turning `a` into `b` (common prefix and suffix kept); null when equal. */
export function minimalReplace(a: string, b: string): ReplaceEdit | null {
  if (a === b) return null;
  let p = 0;
  const max = Math.min(a.length, b.length);
  while (p < max && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  return { offset: p, length: a.length - p - s, text: b.slice(p, b.length - s) };
}

/** Indentation and line ending used by `text` (default two spaces, \n). */
export function detectFormatting(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const m = /\n([ \t]+)\S/.exec(text);
  if (m && m[1].startsWith('\t')) return { insertSpaces: false, tabSize: 4, eol };
  return { insertSpaces: true, tabSize: m ? m[1].length : 2, eol };
}

/** JSON paths the form writes for `values` of stage `kind`. */
export function hyperPaths(kind: StageKind, values: HyperValues): { path: (string | number)[]; value: number }[] {
  const out: { path: (string | number)[]; value: number }[] = [];
  if (values.lr !== undefined) out.push({ path: ['stages', kind, 'optimizer', 'lr'], value: values.lr });
  for (const k of ['ce', 'res', 'vis', 'rel'] as const) {
    if (values[k] !== undefined) out.push({ path: ['stages', kind, 'loss', k], value: values[k]! });
  }
  return out;
}

/**
 * New text of an experiment file with the values set, plus the minimal edit and the dotted
 * paths written. Throws (naming the file) when the text is not a JSON object.
 */
export function applyHyperValues(text: string, file: string, kind: StageKind, values: HyperValues): { text: string; edit: ReplaceEdit | null; paths: string[] } {
  if (parseTree(text)?.type !== 'object') throw new Error(`${file}: expected a JSON object at the top level`);
  const options = { formattingOptions: detectFormatting(text) };
  let out = text;
  const paths: string[] = [];
  for (const { path, value } of hyperPaths(kind, values)) {
    out = applyEdits(out, modify(out, path, value, options));
    paths.push(path.join('.'));
  }
  return { text: out, edit: minimalReplace(text, out), paths };
}

const numAt = (o: unknown, ...keys: string[]): number | undefined => {
  let cur: unknown = o;
  for (const k of keys) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : undefined;
};

/** Effective lr and loss weights of every stage kind present in a resolved config. */
export function stageHypersOf(config: unknown): StageHyper[] {
  const out: StageHyper[] = [];
  for (const kind of EDITABLE_STAGE_KINDS) {
    const lr = numAt(config, 'stages', kind, 'optimizer', 'lr');
    if (lr === undefined) continue;
    out.push({
      kind,
      lr,
      loss: {
        ce: numAt(config, 'stages', kind, 'loss', 'ce') ?? 1,
        res: numAt(config, 'stages', kind, 'loss', 'res') ?? 0,
        vis: numAt(config, 'stages', kind, 'loss', 'vis') ?? 0,
        rel: numAt(config, 'stages', kind, 'loss', 'rel') ?? 0,
      },
    });
  }
  return out;
}
