/**
 * Opens the three panels (one of each, re-targeted when opened again) and registers their
 * WebviewPanelSerializers, so they come back after a window reload from the state each webview
 * saved (its sources and UI settings); a deleted run is dropped from the panels showing it.
 */
import * as vscode from 'vscode';
import { PANEL_TITLES, PANEL_VIEW_TYPES, parsePanelState, type PanelKind } from '../common/messages';
import { isRestorableSource } from '../host/core/pathGuard';
import { ConfigDiffPanel } from './configDiffPanel';
import { DashboardPanel, type PanelServices } from './dashboardPanel';
import { PanelBase, panelOptions, type PanelDeps } from './panelBase';
import { SamplesPanel } from './samplesPanel';

export class Panels implements vscode.Disposable {
  private readonly open = new Map<PanelKind, PanelBase>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: PanelDeps, private readonly services: PanelServices) {
    for (const kind of Object.keys(PANEL_VIEW_TYPES) as PanelKind[]) {
      this.disposables.push(vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPES[kind], {
        deserializeWebviewPanel: async (panel, state) => {
          const s = parsePanelState(state);
          if (!s.ok && state !== undefined) deps.log.warn(`Restoring ${PANEL_TITLES[kind]}: ${s.error}; starting empty`);
          // Saved state comes from the webview: keep only experiments and runs of this workspace.
          const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
          const sources = s.ok ? s.value.sources : [];
          const kept = sources.filter((x) => isRestorableSource(x, folders));
          if (kept.length < sources.length) deps.log.warn(`Restoring ${PANEL_TITLES[kind]}: ignored ${sources.length - kept.length} saved source(s) that are not experiments or runs of this workspace: ${sources.filter((x) => !kept.includes(x)).join(', ')}`);
          this.adopt(kind, panel, kept);
        },
      }));
    }
  }

  private adopt(kind: PanelKind, panel: vscode.WebviewPanel, sources: string[]): PanelBase {
    this.open.get(kind)?.dispose();
    const p = kind === 'dashboard' ? new DashboardPanel(panel, this.deps, sources, this.services)
      : kind === 'samples' ? new SamplesPanel(panel, this.deps, sources, this.services)
      : new ConfigDiffPanel(panel, this.deps, sources, this.services);
    this.open.set(kind, p);
    p.onDidDispose(() => {
      if (this.open.get(kind) === p) this.open.delete(kind);
    });
    return p;
  }

  /** Shows `kind` with `sources` (creating the panel or re-targeting the open one). */
  show(kind: PanelKind, sources: string[]): PanelBase {
    const existing = this.open.get(kind);
    if (existing) {
      existing.setSources(sources);
      existing.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPES[kind], PANEL_TITLES[kind], vscode.ViewColumn.Active, panelOptions(this.deps.extensionUri, []));
    return this.adopt(kind, panel, sources);
  }

  /** Drops a source (a deleted run folder) from every open panel showing it. */
  dropSource(source: string): void {
    for (const p of this.open.values()) {
      const sources = p.getSources();
      if (sources.includes(source)) p.setSources(sources.filter((s) => s !== source));
    }
  }

    current(kind: PanelKind): PanelBase | undefined {
    return this.open.get(kind);
  }

  dispose(): void {
    for (const p of this.open.values()) p.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
