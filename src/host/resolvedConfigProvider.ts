/**
 * Read-only documents `llava-kd-resolved:/<name>.json?<experiment file>` holding the resolved
 * config of an experiment file, so VS Code's diff editor can compare it with a run's config.json.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { readExperimentConfig } from './core/configSources';

export const RESOLVED_SCHEME = 'llava-kd-resolved';

export class ResolvedConfigProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  static uriFor(experimentFile: string): vscode.Uri {
    const name = path.basename(path.dirname(experimentFile));
    return vscode.Uri.from({ scheme: RESOLVED_SCHEME, path: `/${name} (resolved).json`, query: encodeURIComponent(experimentFile) });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const file = decodeURIComponent(uri.query);
    const r = readExperimentConfig(file);
    if (r.config === undefined) return `// ${r.error ?? 'cannot resolve'}\n`;
    return JSON.stringify(r.config, null, 2) + '\n';
  }

  /** Re-reads open resolved documents of this file (after it was saved). */
  refresh(experimentFile: string): void {
    this.changed.fire(ResolvedConfigProvider.uriFor(experimentFile));
  }
}
