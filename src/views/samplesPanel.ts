/**
 * Host side of the samples panel: reads samples.jsonl of up to two runs, turns each image path
 * into a webview URI, and posts new samples while the runs train.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mayOpen } from '../host/core/pathGuard';
import type { SampleLine } from '../common/runFormat';
import { JsonlTail, lastPerKey, sampleKey } from '../common/runReader';
import type { RunInfo, SampleView, WebviewMessage } from '../common/messages';
import { PanelBase, type PanelDeps } from './panelBase';
import { runInfoOf, type PanelServices } from './dashboardPanel';

export const MAX_SAMPLE_RUNS = 2;

export class SamplesPanel extends PanelBase {
  private tails = new Map<string, JsonlTail<SampleLine>>();
  private statusKeys = new Map<string, string>();

  constructor(panel: vscode.WebviewPanel, deps: PanelDeps, sources: string[], private readonly services: PanelServices) {
    super('samples', panel, deps, sources.slice(0, MAX_SAMPLE_RUNS));
    services.store.onDidChangeRunFiles((dir) => {
      if (this.tails.has(dir)) this.poll();
    }, undefined, this.disposables);
    services.store.onDidChange(() => this.pushStatus(), undefined, this.disposables);
  }

  override setSources(sources: string[]): void {
    const unique = [...new Set(sources)];
    if (unique.length > MAX_SAMPLE_RUNS) {
      void vscode.window.showInformationMessage(`LLaVA-KD: the samples view shows ${MAX_SAMPLE_RUNS} runs side by side; showing the last two picked.`);
    }
    super.setSources(unique.slice(-MAX_SAMPLE_RUNS));
  }

  /** Real paths of the images this panel showed: the only files outside its runs it may open. */
  private readonly shownImages = new Set<string>();

  private view(s: SampleLine): SampleView {
    let imageUri = '';
    if (typeof s.image === 'string' && path.isAbsolute(s.image)) {
      imageUri = this.panel.webview.asWebviewUri(vscode.Uri.file(s.image)).toString();
      try {
        this.shownImages.add(fs.realpathSync(s.image));
      } catch {
        this.shownImages.add(path.resolve(s.image));
      }
    }
    return { ...s, imageUri };
  }

  protected init(): void {
    this.post({ type: 'loading', message: 'Reading samples…' });
    this.tails.clear();
    this.statusKeys.clear();
    const runs: RunInfo[] = [];
    const samples: Record<string, SampleView[]> = {};
    for (const dir of this.sources) {
      const tail = new JsonlTail<SampleLine>(path.join(dir, 'samples.jsonl'));
      const r = tail.read();
      for (const err of r.errors.slice(0, 5)) this.deps.log.warn(`${dir}/samples.jsonl: line ${err.line}: ${err.message}`);
      this.tails.set(dir, tail);
      const info = runInfoOf(this.services.store, dir);
      this.statusKeys.set(dir, info.state);
      runs.push(info);
      // One line per (stage, step, sample): older resumed runs may hold superseded lines too.
      samples[dir] = lastPerKey(r.rows, sampleKey).map((s) => this.view(s));
    }
    this.post({ type: 'samples/init', runs, samples });
    this.ensureStatusPoll();
  }

  private poll(): void {
    if (!this.ready) return;
    for (const [dir, t] of this.tails) {
      const r = t.read();
      if (r.reset) {
        this.init();
        return;
      }
      if (r.rows.length) this.post({ type: 'samples/append', key: dir, samples: r.rows.map((s) => this.view(s)) });
    }
  }

  protected override pushStatus(): void {
    if (!this.ready) return;
    for (const dir of this.tails.keys()) {
      const info = runInfoOf(this.services.store, dir);
      if (this.statusKeys.get(dir) !== info.state) {
        this.statusKeys.set(dir, info.state);
        this.post({ type: 'run/status', run: info });
      }
    }
    this.poll();
    this.ensureStatusPoll();
  }

  protected override anyRunning(): boolean {
    return [...this.statusKeys.values()].includes('running');
  }

  protected async handle(m: WebviewMessage): Promise<void> {
    if (m.type === 'addRuns') {
      const more = await this.services.pickMoreRuns('samples', this.sources);
      if (more?.length) this.setSources([...this.sources, ...more]);
    } else if (m.type === 'openFile') {
      if (!mayOpen(m.path, this.sources, this.shownImages)) {
        this.deps.log.warn(`Samples asked to open ${m.path}, which is neither inside its runs nor one of its images: ignored`);
        return;
      }
      await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(m.path));
    }
  }
}
