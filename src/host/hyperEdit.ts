/**
 * Applies the dashboard's hyper-parameter form to kd-experiment.json as an ordinary, undoable
 * WorkspaceEdit on the document (one minimal replace computed by configEdit.ts), then saves it
 * so the next run reads the new values.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { StageKind } from '../common/runFormat';
import type { HyperValues } from '../common/messages';
import { applyHyperValues } from './core/configEdit';

export async function applyHyperEdit(file: string, stage: StageKind, values: HyperValues): Promise<{ ok: boolean; message: string }> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  let r;
  try {
    r = applyHyperValues(doc.getText(), file, stage, values);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  if (!r.edit) return { ok: true, message: 'The file already holds these values.' };
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(r.edit.offset), doc.positionAt(r.edit.offset + r.edit.length)), r.edit.text);
  if (!(await vscode.workspace.applyEdit(edit))) return { ok: false, message: `${file}: the edit was rejected (is the file read-only?)` };
  const saved = await doc.save();
  const name = path.basename(file);
  return {
    ok: true,
    message: `Wrote ${r.paths.join(', ')} to ${name}${saved ? '' : ' (not saved yet)'}. Undo with Ctrl+Z in ${name}; the next run's config diff shows the change.`,
  };
}
