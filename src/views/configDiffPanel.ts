/**
 * Host side of the config-diff panel: one column per run (config.json) or experiment (resolved
 * kd-experiment.json), refreshed when an experiment file is saved; opens VS Code's diff editor
 * on two of them.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { WebviewMessage } from '../common/messages';
import { configColumn, isExperimentSource } from '../host/core/configSources';
import { ResolvedConfigProvider } from '../host/resolvedConfigProvider';
import { PanelBase, type PanelDeps } from './panelBase';
import type { PanelServices } from './dashboardPanel';

export class ConfigDiffPanel extends PanelBase {
  constructor(panel: vscode.WebviewPanel, deps: PanelDeps, sources: string[], private readonly services: PanelServices) {
    super('configDiff', panel, deps, sources);
    vscode.workspace.onDidSaveTextDocument((d) => {
      if (this.sources.includes(d.uri.fsPath)) this.init();
    }, undefined, this.disposables);
  }

  private label(source: string): string {
    if (isExperimentSource(source)) return `${this.services.store.findExperiment(source)?.label ?? path.basename(path.dirname(source))} (experiment)`;
    const exp = this.services.store.experimentOfRun(source);
    return `${path.basename(source)} (${exp.name})`;
  }

  protected init(): void {
    if (!this.ready) return;
    this.post({ type: 'configDiff/init', columns: this.sources.map((s) => configColumn(s, this.label(s))) });
  }

  private uriOf(source: string): vscode.Uri {
    return isExperimentSource(source) ? ResolvedConfigProvider.uriFor(source) : vscode.Uri.file(path.join(source, 'config.json'));
  }

  protected async handle(m: WebviewMessage): Promise<void> {
    if (m.type === 'addRuns') {
      const more = await this.services.pickMoreSources(this.sources);
      if (more?.length) this.setSources([...this.sources, ...more]);
    } else if (m.type === 'openDiff') {
      if (!this.sources.includes(m.left) || !this.sources.includes(m.right)) {
        this.deps.log.warn(`Config diff asked to compare sources it does not show (${m.left}, ${m.right}): ignored`);
        return;
      }
      await vscode.commands.executeCommand('vscode.diff', this.uriOf(m.left), this.uriOf(m.right), `${this.label(m.left)} ↔ ${this.label(m.right)}`);
    } else if (m.type === 'openFile') {
      if (this.sources.some((s) => m.path === s || m.path === path.join(s, 'config.json'))) await vscode.window.showTextDocument(vscode.Uri.file(m.path));
    }
  }
}
