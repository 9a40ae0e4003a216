/**
 * Problems of kd-experiment.json files as editor diagnostics: on open, save and (debounced) edit,
 * the text goes through the trainer's pure config validation and each issue is underlined at its
 * field (JSON path -> range), with what was expected and what was found. What VS Code's JSON
 * support reports itself (syntax errors, duplicate keys) is left to it (configProblems.ts).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { EXPERIMENT_FILE } from '../common/runFormat';
import { diagnosticMessage, issuesToShow } from './core/configProblems';
import { experimentProblems } from './core/experimentCheck';
import { issueRange } from './core/jsonLocate';

export const DIAGNOSTIC_SOURCE = 'LLaVA-KD';

export const isExperimentDoc = (d: vscode.TextDocument): boolean => d.uri.scheme === 'file' && path.basename(d.uri.fsPath) === EXPERIMENT_FILE;

/** True when VS Code's JSON language support validates `d` (and so reports its syntax errors). */
function jsonServiceValidates(d: vscode.TextDocument): boolean {
  return (d.languageId === 'json' || d.languageId === 'jsonc') && vscode.workspace.getConfiguration('json', d.uri).get<boolean>('validate.enable', true);
}

export class ExperimentDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('llava-kd');
  private readonly disposables: vscode.Disposable[] = [this.collection];
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    vscode.workspace.onDidOpenTextDocument((d) => this.check(d), undefined, this.disposables);
    vscode.workspace.onDidSaveTextDocument((d) => this.check(d), undefined, this.disposables);
    vscode.workspace.onDidChangeTextDocument((e) => this.checkSoon(e.document), undefined, this.disposables);
    vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri), undefined, this.disposables);
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  private checkSoon(d: vscode.TextDocument): void {
    if (!isExperimentDoc(d)) return;
    const key = d.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.check(d);
    }, 400));
  }

  check(d: vscode.TextDocument): void {
    if (!isExperimentDoc(d)) return;
    const text = d.getText();
    let issues;
    try {
      issues = issuesToShow(experimentProblems(text, d.uri.fsPath), jsonServiceValidates(d));
    } catch (e) {
      this.log.error(`Validating ${d.uri.fsPath} failed: ${(e as Error).message}`);
      return;
    }
    const diags = issues.map((i) => {
      const r = issueRange(text, i);
      const range = new vscode.Range(d.positionAt(r.offset), d.positionAt(r.offset + r.length));
      const diag = new vscode.Diagnostic(range, diagnosticMessage(i), vscode.DiagnosticSeverity.Error);
      diag.source = DIAGNOSTIC_SOURCE;
      if (i.path) diag.code = i.path;
      return diag;
    });
    this.collection.set(d.uri, diags);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
