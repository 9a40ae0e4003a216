/**
 * Base of the three webview panels: builds the CSP'd HTML shell, restricts local resources to
 * dist/media and the experiment folders, waits for the webview's `ready` before posting (and
 * re-initialises on every `ready`, since a hidden panel's page is rebuilt from its saved state),
 * validates every incoming message and logs + ignores invalid ones.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { PANEL_TITLES, PANEL_VIEW_TYPES, parseWebviewMessage, type HostMessage, type PanelKind, type WebviewMessage } from '../common/messages';
import { webviewShell } from './webviewHtml';

/** How often a shown panel re-reads a training run's status and files (file events come on top). */
export const STATUS_POLL_MS = 1000;

export interface PanelDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
}

/** Options of a new panel of `kind` (scripts on, resources limited to `roots`). */
export function panelOptions(extensionUri: vscode.Uri, roots: vscode.Uri[]): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, enableFindWidget: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'media'), ...roots] };
}

export abstract class PanelBase implements vscode.Disposable {
  protected ready = false;
  protected disposed = false;
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    readonly kind: PanelKind,
    readonly panel: vscode.WebviewPanel,
    protected readonly deps: PanelDeps,
    protected sources: string[],
  ) {
    panel.title = PANEL_TITLES[kind];
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'icon.svg');
    this.updateRoots();
    panel.webview.html = this.html();
    panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m), undefined, this.disposables);
    panel.onDidChangeViewState(() => {
      // A hidden webview loses its page; it says `ready` again when shown.
      if (!panel.visible) this.ready = false;
      this.onVisibility(panel.visible);
    }, undefined, this.disposables);
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  static viewType(kind: PanelKind): string {
    return PANEL_VIEW_TYPES[kind];
  }

  /** Folders the webview may load files (images) from: workspace folders and the sources' experiment folders. */
  protected resourceRoots(): vscode.Uri[] {
    const dirs = new Set<string>((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
    for (const s of this.sources) dirs.add(path.basename(s) === 'kd-experiment.json' ? path.dirname(s) : path.dirname(path.dirname(s)));
    return [...dirs].map((d) => vscode.Uri.file(d));
  }

  protected updateRoots(): void {
    const want = panelOptions(this.deps.extensionUri, this.resourceRoots());
    const have = this.panel.webview.options.localResourceRoots?.map((u) => u.toString()).sort().join('|');
    if (have !== want.localResourceRoots!.map((u) => u.toString()).sort().join('|')) this.panel.webview.options = want;
  }

  private html(): string {
    const w = this.panel.webview;
    const media = (f: string): string => w.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'media', f)).toString();
    return webviewShell({
      cspSource: w.cspSource,
      title: PANEL_TITLES[this.kind],
      scriptUri: media(`${this.kind}App.js`),
      styleUris: [media('panels.css')],
      codiconUri: media('codicon.css'),
      panel: this.kind,
    });
  }

  private receive(raw: unknown): void {
    const parsed = parseWebviewMessage(this.kind, raw);
    if (!parsed.ok) {
      this.deps.log.warn(`Ignored an invalid message from the ${PANEL_TITLES[this.kind]} webview: ${parsed.error} (${safeJson(raw)})`);
      return;
    }
    const m = parsed.value;
    if (m.type === 'ready') {
      this.ready = true;
      void this.safely(() => this.init(), true);
      return;
    }
    if (m.type === 'log') {
      const text = `[${PANEL_TITLES[this.kind]} webview] ${m.message}`;
      if (m.level === 'error') this.deps.log.error(text);
      else if (m.level === 'warn') this.deps.log.warn(text);
      else this.deps.log.info(text);
      return;
    }
    if (m.type === 'command') {
      void this.safely(() => Promise.resolve(vscode.commands.executeCommand(`llavaKd.${m.command}`, ...(m.key ? [m.key] : []))));
      return;
    }
    if (m.type === 'removeRun') {
      this.setSources(this.sources.filter((s) => s !== m.key));
      return;
    }
    void this.safely(() => this.handle(m));
  }

  /** Runs `f`; a failing init replaces the page with an error state, a failing action only reports. */
  private async safely(f: () => Promise<unknown> | unknown, isInit = false): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.deps.log.error(`${PANEL_TITLES[this.kind]}: ${(e as Error).stack ?? e}`);
      if (isInit) this.post({ type: 'error', message: (e as Error).message });
      else void vscode.window.showErrorMessage(`LLaVA-KD: ${(e as Error).message}`);
    }
  }

  /** Posts to the webview once it said `ready` (messages before that are dropped: init re-sends everything). */
  protected post(m: HostMessage): void {
    if (!this.ready || this.disposed) return;
    void this.panel.webview.postMessage(m);
  }

  /** Replaces what the panel shows and re-initialises it. */
  setSources(sources: string[]): void {
    this.sources = [...new Set(sources)];
    this.updateRoots();
    if (this.ready) void this.safely(() => this.init(), true);
  }

  getSources(): string[] {
    return this.sources;
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  /** Sends the full content (called on every `ready`). */
  protected abstract init(): Promise<void> | void;
  /** Handles a validated message other than ready/log/command/removeRun. */
  protected abstract handle(m: WebviewMessage): Promise<void> | void;
  protected onVisibility(_visible: boolean): void {
    this.ensureStatusPoll();
  }

  /** Whether one of the panel's runs is training (then its status and files are polled). */
  protected anyRunning(): boolean {
    return false;
  }

  /** Re-reads the status and files of the panel's runs and posts what changed. */
  protected pushStatus(): void {}

  /** Polls every STATUS_POLL_MS while the panel is shown, ready, and one of its runs trains. */
  protected ensureStatusPoll(): void {
    this.pollWhile(this.ready && this.panel.visible && this.anyRunning(), STATUS_POLL_MS, () => this.pushStatus());
  }

  private pollTimer: NodeJS.Timeout | undefined;

  /** Calls `tick` every `ms` while `want` holds (e.g. visible, ready and a run is running). */
  protected pollWhile(want: boolean, ms: number, tick: () => void): void {
    if (want && !this.pollTimer) this.pollTimer = setInterval(tick, ms);
    else if (!want && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  onDidDispose(f: () => void): void {
    this.disposeListeners.push(f);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pollWhile(false, 0, () => undefined);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    for (const f of this.disposeListeners) f();
  }
}

function safeJson(x: unknown): string {
  try {
    const s = JSON.stringify(x);
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return String(x);
  }
}
