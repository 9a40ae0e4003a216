/**
 * CodeLens at the top of kd-experiment.json (lensModel.ts): Run Full Pipeline, Run Stage…,
 * Start Distilled Fine-Tuning, Compare with Last Run; over a file that does not validate, only
 * "N problems: fix them first", which opens Problems. Refreshed when the file's diagnostics change.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { EXPERIMENT_FILE } from '../common/runFormat';
import { experimentProblems } from './experimentCheck';
import { experimentLenses } from './lensModel';

export class ExperimentCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  // Problems can change without an edit (a data file created or deleted): follow the diagnostics.
  private readonly subs = [
    vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => path.basename(u.fsPath) === EXPERIMENT_FILE)) this.changed.fire();
    }),
    // And on every edit and save of an experiment file, so the lens never lags behind the text.
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (path.basename(e.document.uri.fsPath) === EXPERIMENT_FILE) this.changed.fire();
    }),
    vscode.workspace.onDidSaveTextDocument((d) => {
      if (path.basename(d.uri.fsPath) === EXPERIMENT_FILE) this.changed.fire();
    }),
  ];

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const range = new vscode.Range(0, 0, 0, 0);
    let count: number;
    try {
      count = experimentProblems(doc.getText(), doc.uri.fsPath).length;
    } catch {
      count = 0;
    }
    return experimentLenses(count).map((l) => new vscode.CodeLens(range, { title: l.title, command: l.command, tooltip: l.tooltip, arguments: l.withFile ? [doc.uri] : [] }));
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    this.changed.dispose();
  }
}
