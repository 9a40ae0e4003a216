/**
 * Host side of the dashboard panel: reads the metrics/eval files of its runs (JsonlTail), sends
 * them in columns, then posts increments while runs train (file events + a 1 s poll while
 * visible), pushes status changes, and applies the hyper-parameter form.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EvalLine, MetricsLine } from '../common/runFormat';
import { evalKey, JsonlTail, lastPerKey, metricsKey } from '../common/runReader';
import type { HyperTarget, RunConfigValues, RunInfo, WebviewMessage } from '../common/messages';
import { configColumn, hyperTarget, runDivergence } from '../host/core/configSources';
import { applyHyperEdit } from '../host/hyperEdit';
import { metricsToColumns } from '../common/metricsColumns';
import { toRunInfo } from '../host/core/runModel';
import type { RunStore } from '../host/runStore';
import { readRunSummary } from '../host/core/runSummaries';
import { PanelBase, type PanelDeps } from './panelBase';
import { saveExport } from './exportSave';

export interface PanelServices {
  store: RunStore;
  /** Asks the user for more runs to show; returns their folders. */
  pickMoreRuns: (kind: 'dashboard' | 'samples', exclude: string[]) => Promise<string[] | undefined>;
  pickMoreSources: (exclude: string[]) => Promise<string[] | undefined>;
}

interface Tail {
  metrics: JsonlTail<MetricsLine>;
  evals: JsonlTail<EvalLine>;
  stages: string[];
  /** Keys of the lines shown so far (metricsKey, `e ` + evalKey). */
  seen: Set<string>;
}

const divergences = new Map<string, string | undefined>();

/** RunInfo of a run folder, fresh from its status.json (the divergence of its config is cached). */
export function runInfoOf(store: RunStore, dir: string): RunInfo {
  const info = toRunInfo(store.experimentOfRun(dir), readRunSummary(dir));
  if (!divergences.has(dir) || divergences.get(dir) === undefined) divergences.set(dir, runDivergence(dir));
  const d = divergences.get(dir);
  if (d) info.divergence = d;
  return info;
}

export class DashboardPanel extends PanelBase {
  private tails = new Map<string, Tail>();
  private statusKeys = new Map<string, string>();
  private hyper: HyperTarget[] = [];

  constructor(panel: vscode.WebviewPanel, deps: PanelDeps, sources: string[], private readonly services: PanelServices) {
    super('dashboard', panel, deps, sources);
    services.store.onDidChangeRunFiles((dir) => {
      if (this.tails.has(dir)) this.poll();
    }, undefined, this.disposables);
    services.store.onDidChange(() => this.pushStatus(), undefined, this.disposables);
  }

  protected init(): void {
    this.post({ type: 'loading', message: `Reading ${this.sources.length} run${this.sources.length === 1 ? '' : 's'}…` });
    this.tails.clear();
    this.statusKeys.clear();
    const runs: RunInfo[] = [];
    const metrics: Record<string, ReturnType<typeof metricsToColumns>> = {};
    const evals: Record<string, EvalLine[]> = {};
    const configs: Record<string, RunConfigValues> = {};
    for (const dir of this.sources) {
      const info = runInfoOf(this.services.store, dir);
      const tail: Tail = { metrics: new JsonlTail<MetricsLine>(path.join(dir, 'metrics.jsonl')), evals: new JsonlTail<EvalLine>(path.join(dir, 'eval.jsonl')), stages: [], seen: new Set<string>() };
      const m = tail.metrics.read();
      const e = tail.evals.read();
      for (const err of [...m.errors, ...e.errors].slice(0, 5)) this.deps.log.warn(`${dir}: line ${err.line}: ${err.message}`);
      // One line per (stage, step): older resumed runs may hold the superseded lines too.
      const mRows = lastPerKey(m.rows, metricsKey);
      const eRows = lastPerKey(e.rows, evalKey);
      for (const r of mRows) tail.seen.add(metricsKey(r));
      for (const r of eRows) tail.seen.add(`e ${evalKey(r)}`);
      const cols = metricsToColumns(mRows);
      tail.stages = cols.stages;
      this.tails.set(dir, tail);
      runs.push(info);
      metrics[dir] = cols;
      evals[dir] = eRows;
      // The run table's config differences (an unreadable config.json: the column says why in the Config Diff panel).
      configs[dir] = configColumn(dir, info.runId).values;
      this.statusKeys.set(dir, JSON.stringify(info));
    }
    const seen = new Set<string>();
    this.hyper = [];
    for (const r of runs) {
      if (seen.has(r.experimentFile)) continue;
      seen.add(r.experimentFile);
      this.hyper.push(hyperTarget(r.experimentFile, r.experimentName, r.key));
    }
    this.post({ type: 'dashboard/init', runs, metrics, evals, hyper: this.hyper, configs });
    this.ensureStatusPoll();
  }

  /** Posts rows appended since the last read (a replaced file re-initialises). */
  private poll(): void {
    if (!this.ready) return;
    for (const [dir, t] of this.tails) {
      const m = t.metrics.read();
      const e = t.evals.read();
      // A line for a (stage, step) already shown supersedes it: read the run again, deduplicated.
      const again = m.rows.some((r) => t.seen.has(metricsKey(r))) || e.rows.some((r) => t.seen.has(`e ${evalKey(r)}`));
      if (m.reset || e.reset || again) {
        this.init();
        return;
      }
      if (!m.rows.length && !e.rows.length) continue;
      for (const r of m.rows) t.seen.add(metricsKey(r));
      for (const r of e.rows) t.seen.add(`e ${evalKey(r)}`);
      const cols = metricsToColumns(m.rows, t.stages);
      t.stages = cols.stages;
      this.post({ type: 'dashboard/append', key: dir, metrics: cols, evals: e.rows });
    }
  }

  protected override pushStatus(): void {
    if (!this.ready) return;
    for (const dir of this.tails.keys()) {
      const info = runInfoOf(this.services.store, dir);
      const key = JSON.stringify(info);
      if (this.statusKeys.get(dir) === key) continue;
      this.statusKeys.set(dir, key);
      this.post({ type: 'run/status', run: info });
    }
    this.poll();
    this.ensureStatusPoll();
  }

  protected override anyRunning(): boolean {
    return [...this.statusKeys.values()].some((k) => (JSON.parse(k) as RunInfo).state === 'running');
  }

  protected async handle(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'addRuns': {
        const more = await this.services.pickMoreRuns('dashboard', this.sources);
        if (more?.length) this.setSources([...this.sources, ...more]);
        break;
      }
      case 'editHyper': {
        if (!this.hyper.some((t) => t.experimentFile === m.experimentFile)) {
          this.deps.log.warn(`Dashboard asked to edit ${m.experimentFile}, which none of its runs uses: ignored`);
          return;
        }
        let r: { ok: boolean; message: string };
        try {
          r = await applyHyperEdit(m.experimentFile, m.stage, m.values);
        } catch (e) {
          r = { ok: false, message: `${m.experimentFile}: ${(e as Error).message}` };
        }
        const name = this.hyper.find((t) => t.experimentFile === m.experimentFile)!.experimentName;
        const target = hyperTarget(m.experimentFile, name);
        this.hyper = this.hyper.map((t) => (t.experimentFile === m.experimentFile ? target : t));
        this.post({ type: 'hyper/result', ok: r.ok, message: r.message, target });
        if (r.ok) this.deps.log.info(r.message);
        break;
      }
      case 'export': {
        await saveExport(m.format, m.name, m.data, this.deps.log);
        break;
      }
      case 'openFile': {
        const allowed = this.hyper.some((t) => t.experimentFile === m.path) || this.sources.some((s) => path.dirname(m.path) === s);
        if (!allowed) {
          this.deps.log.warn(`Dashboard asked to open ${m.path}, which is not a file of its runs: ignored`);
          return;
        }
        await vscode.window.showTextDocument(vscode.Uri.file(m.path), { preview: false });
        break;
      }
      default:
        break;
    }
  }
}
