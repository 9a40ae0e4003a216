/**
 * Quick fixes (light bulb, Ctrl+.) in kd-experiment.json: "did you mean" applied to a misspelt
 * key, an unknown enum value or preset. Thin: the edits come from quickFixEdits.ts.
 */
import * as vscode from 'vscode';
import { DIAGNOSTIC_SOURCE } from './diagnostics';
import { experimentProblems } from './core/experimentCheck';
import { quickFixes } from './core/quickFixEdits';

export class ExperimentQuickFixes implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  provideCodeActions(doc: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (context.only && !vscode.CodeActionKind.QuickFix.intersects(context.only)) return [];
    const text = doc.getText();
    const out: vscode.CodeAction[] = [];
    for (const fix of quickFixes(text, experimentProblems(text, doc.uri.fsPath))) {
      const at = new vscode.Range(doc.positionAt(fix.range.offset), doc.positionAt(fix.range.offset + fix.range.length));
      if (!at.intersection(range)) continue;
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.edit = new vscode.WorkspaceEdit();
      action.edit.replace(doc.uri, at, fix.newText);
      action.diagnostics = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE && d.code === fix.path);
      action.isPreferred = true;
      out.push(action);
    }
    return out;
  }
}
