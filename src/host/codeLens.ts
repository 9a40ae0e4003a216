/**
 * CodeLens at the top of kd-experiment.json (lensModel.ts): Run Full Pipeline, Run Sweep (with a
 * `sweep` section), Run Stage…,
 * Start Distilled Fine-Tuning, Compare with Last Run; over a file that does not validate, only
 * "N problems: fix them first", which opens Problems. VS Code asks again after each edit; the
 * provider also signals a change when a file's problem count changes without an edit (a data
 * file created or deleted), and only then: VS Code restarts its CodeLens delay at every change
 * signal, so signalling on every diagnostics event could keep the lenses from ever updating.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { EXPERIMENT_FILE } from '../common/runFormat';
import { experimentProblems } from './core/experimentCheck';
import { experimentLenses } from './core/lensModel';
import { hasSweepSection } from './core/sweepModel';

/** Problems of an experiment document (0 when the check itself fails: the run refuses with the reason anyway). */
function problemCount(doc: vscode.TextDocument): number {
  try {
    return experimentProblems(doc.getText(), doc.uri.fsPath).length;
  } catch {
    return 0;
  }
}

export class ExperimentCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  /** The problem count each document's lenses were last computed with. */
  private readonly shown = new Map<string, number>();
  private readonly sub = vscode.languages.onDidChangeDiagnostics((e) => {
    let stale = false;
    for (const uri of e.uris) {
      if (path.basename(uri.fsPath) !== EXPERIMENT_FILE) continue;
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const key = uri.toString();
      if (!doc || !this.shown.has(key)) continue;
      const n = problemCount(doc);
      if (this.shown.get(key) === n) continue;
      // Signal once per new count (repeated diagnostics events with the same count stay quiet).
      this.shown.set(key, n);
      stale = true;
    }
    if (stale) this.changed.fire();
  });

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const range = new vscode.Range(0, 0, 0, 0);
    const count = problemCount(doc);
    this.shown.set(doc.uri.toString(), count);
    return experimentLenses(count, hasSweepSection(doc.getText())).map((l) => new vscode.CodeLens(range, { title: l.title, command: l.command, tooltip: l.tooltip, arguments: l.withFile ? [doc.uri] : [] }));
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
