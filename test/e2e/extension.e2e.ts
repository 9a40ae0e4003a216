// End-to-end tests of the packaged LLaVA-KD Studio (.vsix) installed into code-server and driven
// through Chromium like a user: palette commands, quick inputs, the Experiments tree, the status
// bar, notifications, the dashboard / samples / config-diff webviews (read through their hidden
// #debug-state element and their DOM), the Problems panel, and failure paths (a trainer killed
// with SIGKILL, a corrupt metrics line, a missing sample image). One code-server session is shared
// by all scenarios, which run in order and build on each other's runs (tiny preset: ~5 s a run);
// 7 and 12 make their own experiments and also run alone.
// Run: node --import tsx --test test/e2e/extension.e2e.ts   (after `bash test/e2e/setup.sh`;
// packages llava-kd-studio.vsix first when it is missing or older than the sources).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import {
  answerQuickInput, clearNotifications, closeQuickInput, editorReplaceAll, editorSave, editorTab, editorVisibleText, expandTreeItem, extensionErrors,
  makeTempDir, notification, openFile, openViewContainer, openWorkbench, pickQuickItem, quickInputState, runCommand, screenshot,
  SCREENSHOT_DIR, sleep, treeItem, waitProblems, waitTreeItem, waitUntil, waitVisible, webviewFrame, writeWorkspaceFile, type ProblemEntry, type Session,
} from './harness';

/** The extension under test, for assertions on its errors. */
const LLAVA_KD = { id: 'llava-kd.llava-kd-studio', mentions: /LLaVA-KD/ };
import type { RunStatus } from '../../src/common/runFormat';

const REPO = path.resolve(__dirname, '../..');
const VSIX = path.join(REPO, 'llava-kd-studio.vsix');
/** Longest wait for one tiny training run (world generation + 10 stages) on 2 busy cores. */
const RUN_TIMEOUT_MS = 120_000;

const TITLES = { dashboard: 'LLaVA-KD Dashboard', samples: 'LLaVA-KD Samples', configDiff: 'LLaVA-KD Config Diff' };
const LOSS_SERIES = ['CE', 'MDist-response', 'MDist-visual', 'RDist'];
/** Points of every series of `chart` named `base` (one per track: `CE · teacher`, `CE · kd`; or just `CE`). */
const pointsOf = (series: Record<string, number>, chart: string, base: string): number =>
  Object.entries(series).filter(([k]) => (k === `${chart}:${base}` || k.startsWith(`${chart}:${base} · `)) && !/\((raw|band|band lo|member [^)]*)\)$/.test(k)).reduce((a, [, v]) => a + v, 0);
/** Accessible name of a run row: `<run id>, <description>` (run ids: yyyymmdd-hhmmss-<hex>). */
const RUN_ROW = /^\d{8}-\d{6}-[0-9a-f]+, /;

// ------------------------------------------------------------------------------------ helpers

/** Newest mtime of the files under `dir` (recursively). */
function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Packages the extension unless llava-kd-studio.vsix is newer than src/, media/ and package.json. */
function ensureVsix(): void {
  const sources = Math.max(newestMtime(path.join(REPO, 'src')), newestMtime(path.join(REPO, 'media')), fs.statSync(path.join(REPO, 'package.json')).mtimeMs);
  if (fs.existsSync(VSIX) && fs.statSync(VSIX).mtimeMs > sources) return;
  const r = spawnSync('npm', ['run', 'package'], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`  ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

function readStatus(runDir: string): RunStatus {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as RunStatus;
}

/** Run folders of an experiment folder, oldest first (run ids start with a timestamp). */
function runDirs(expDir: string): string[] {
  const runs = path.join(expDir, 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs.readdirSync(runs).filter((d) => fs.existsSync(path.join(runs, d, 'status.json'))).sort().map((d) => path.join(runs, d));
}

/** Waits for a run folder of `expDir` that is not in `known` and returns it. */
async function waitNewRun(page: Page, expDir: string, known: string[]): Promise<string> {
  return waitUntil(page, async () => runDirs(expDir).find((d) => !known.includes(d)), `a new run folder under ${expDir}/runs`, RUN_TIMEOUT_MS);
}

/** The parsed #debug-state of a webview; undefined while it is empty or not yet attached. */
async function debugState(frame: FrameLocator): Promise<Record<string, unknown> | undefined> {
  const text = await frame.locator('#debug-state').textContent({ timeout: 1_000 }).catch(() => null);
  if (!text) return undefined;
  return JSON.parse(text) as Record<string, unknown>;
}

/** Polls a webview's #debug-state until `pred` holds; the error names `what` and the last state. */
async function waitDebug<T extends Record<string, unknown>>(
  page: Page, frame: FrameLocator, pred: (s: T) => boolean, what: string, timeout?: number,
): Promise<T> {
  let last: unknown;
  try {
    return await waitUntil(page, async () => {
      const s = (await debugState(frame)) as T | undefined;
      last = s;
      return s && pred(s) ? s : undefined;
    }, what, timeout);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast #debug-state: ${JSON.stringify(last)?.slice(0, 1500)}`);
  }
}

/** Accessible names of the rows of the Experiments tree (label + description). */
async function treeLabels(page: Page): Promise<string[]> {
  return page.locator('.part.sidebar [role="treeitem"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
}

/**
 * Collapses the Experiments tree (its "Collapse All" title action): the tree is virtualised, so
 * rows scrolled out of view are not in the DOM, and expanded runs push later experiments out.
 */
async function collapseTree(page: Page): Promise<void> {
  const btn = page.locator('.part.sidebar .title-actions .action-label[aria-label^="Collapse All"], .part.sidebar .pane-header .action-label[aria-label^="Collapse All"]').first();
  await waitVisible(page, btn, 'the "Collapse All" action of the Experiments view');
  await btn.click();
  await waitUntil(page, async () => ((await page.locator('.part.sidebar [role="treeitem"][aria-level="2"]').count()) === 0 ? true : undefined),
    'the Experiments tree to collapse');
}

/** Status-bar entry of the training (its accessible label starts with "LLaVA-KD training"). */
function trainingStatusItem(page: Page): Locator {
  return page.locator('.part.statusbar [aria-label^="LLaVA-KD training"]');
}

/** A toast containing all of `texts`. */
function toast(page: Page, ...texts: (string | RegExp)[]): Locator {
  let l = page.locator('.notifications-toasts .notification-toast');
  for (const t of texts) l = l.filter({ hasText: t });
  return l;
}

/** Clicks `button` on the toast containing all of `texts` (waits for it). */
async function clickToastButton(page: Page, button: string, ...texts: (string | RegExp)[]): Promise<void> {
  const t = await waitVisible(page, toast(page, ...texts), `a notification containing ${texts.map(String).join(' + ')}`);
  await t.locator('.monaco-button', { hasText: button }).first().click();
}

/** Hides every toast (keeps later `toast(...)` lookups unambiguous). */
async function clearToasts(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
}

/** In a multi-select quick pick: checks the rows whose label contains each of `labels`, then OK. */
async function pickMany(page: Page, labels: string[]): Promise<void> {
  for (const l of labels) await pickQuickItem(page, l, { exact: false, keepOpen: true });
  await waitUntil(page, async () => {
    const n = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row[aria-checked="true"]').count();
    return n === labels.length ? true : undefined;
  }, `${labels.length} checked quick-pick rows`);
  await page.keyboard.press('Enter');
  await waitUntil(page, async () => ((await quickInputState(page)).visible ? undefined : true), 'the multi-select quick pick to close');
}

/** Number of clearly coloured pixels of a canvas (chart lines, not grey axes/text). */
async function colouredPixels(frame: FrameLocator, selector: string): Promise<number> {
  return frame.locator(selector).evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 128 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
    }
    return n;
  });
}

/** The cells of a row of the dashboard's loss legend table: [term, formula, last raw, last weighted]. */
async function legendRow(frame: FrameLocator, term: string): Promise<string[]> {
  return frame.locator(`#loss-legend tr[data-term="${term}"] td`).allInnerTexts();
}

/** Writes an experiment file whose stages all take `steps` steps (a run that lasts). */
function writeLongExperiment(ws: string, folder: string, steps: number): string {
  const stages: Record<string, unknown> = {};
  for (const k of ['vision', 'lm', 'pt', 'dpt', 'sft', 'dft']) stages[k] = { steps };
  return writeWorkspaceFile(ws, `${folder}/kd-experiment.json`, JSON.stringify({ preset: 'tiny', name: folder, stages }, null, 2) + '\n');
}

/**
 * Right-clicks `row` and clicks the context-menu entry `title` (menus render in the page, menuitem
 * roles). The menu may ignore a click that comes right after it opened: clicked again until it closes.
 */
async function contextMenu(page: Page, row: Locator, title: string): Promise<void> {
  await row.click({ button: 'right' });
  const item = page.getByRole('menuitem', { name: title }).first();
  await waitVisible(page, item, `the context-menu entry "${title}"`);
  await waitUntil(page, async () => {
    if (!(await item.isVisible())) return true;
    await item.click({ timeout: 2_000 }).catch(() => undefined);
    await sleep(500);
    return (await item.isVisible()) ? undefined : true;
  }, `the context menu to run "${title}"`);
}

interface DashDebug extends Record<string, unknown> {
  state: string;
  runs: { runId: string; state: string; metrics: number; evals: number }[];
  series: Record<string, number>;
  weighted: boolean;
  stage: string;
  xAxis: string;
  xTitle: string;
  lossX: { min: number; max: number } | null;
  yMax: Record<string, number | null>;
  typeSeries: string;
}

/** Picks the option labelled `label` of the dashboard's vscode-single-select `#id`, as a user does (open it, click the option). */
async function chooseOption(frame: FrameLocator, id: string, label: string): Promise<void> {
  await frame.locator(`#${id}`).click();
  await frame.locator(`#${id}`).getByRole('option', { name: label, exact: true }).click();
}

interface SamplesDebug extends Record<string, unknown> {
  state: string;
  runs: { runId: string; samples: number }[];
  steps: number;
  step: number | null;
  shownRows: number;
  imagesLoaded: number;
  imagesFailed: number;
  placeholders: number;
}

interface DiffDebug extends Record<string, unknown> {
  state: string;
  columns: string[];
  rows: number;
  shownRows: number;
  differing: number;
  differencesOnly: boolean;
}

// ---------------------------------------------------------------------------------- scenarios

describe('LLaVA-KD Studio (packaged .vsix in code-server)', { timeout: 360_000 }, () => {
  let s: Session;
  let page: Page;
  let ws: string;
  const expDir = (): string => path.join(ws, 'exp-a');
  /** Run folders of exp-a made by the scenarios: first pipeline, second (edited) pipeline, DFT. */
  const runs: { first?: string; second?: string; dft?: string; long?: string } = {};
  /** The sample image 8c deletes (its failed load is logged to the console). */
  let deletedImage = '\u0000';

  before(async () => {
    await timed('package .vsix (when stale)', async () => ensureVsix());
    ws = makeTempDir('kd-ws');
    s = await timed('start code-server + workbench', () => openWorkbench({ workspace: ws, vsixPath: VSIX, name: 'llava-kd' }));
    page = s.page;
  });

  after(async () => {
    if (!s) return;
    console.log(`  code-server log: ${s.server.logFile}\n  browser console: ${s.browser.consoleLog}\n  VS Code logs: ${s.server.vscodeLogDir}`);
    await s.close();
    if (process.env.E2E_KEEP !== '1') fs.rmSync(ws, { recursive: true, force: true });
  });

  it('1. New Experiment (tiny) -> Run Full Pipeline: tree, status bar, completion notification', { timeout: 180_000 }, async () => {
    await openViewContainer(page, 'LLaVA-KD');
    await runCommand(page, 'LLaVA-KD: New Experiment');
    await answerQuickInput(page, 'exp-a', { expectPrompt: 'Folder for the experiment' });
    await pickQuickItem(page, 'tiny');
    await waitVisible(page, editorTab(page, 'kd-experiment.json').and(page.locator('.tab.active')), 'kd-experiment.json to open in the editor');
    const created = JSON.parse(fs.readFileSync(path.join(expDir(), 'kd-experiment.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(created.preset, 'tiny');
    assert.equal(created.name, 'exp-a');
    await waitTreeItem(page, 'exp-a');
    await waitTreeItem(page, 'No runs yet');

    await runCommand(page, 'LLaVA-KD: Run Full Pipeline');
    // While it trains: the experiment row counts a running run, the run row shows stage x/y, the
    // status bar shows the stage; then the completion notification. Sample all until it shows.
    const seen = { tree: new Set<string>(), statusBar: new Set<string>(), progress: new Set<string>() };
    const finished = toast(page, 'Full pipeline', 'finished');
    await waitUntil(page, async () => {
      const labels = await treeLabels(page);
      if (labels.some((l) => l.startsWith('exp-a') && l.includes('1 running'))) {
        for (const l of labels) if (RUN_ROW.test(l)) seen.tree.add(l);
      }
      // Short timeouts: these vanish when the run ends, and a long wait here would let the
      // completion toast time out unseen.
      const bar = await trainingStatusItem(page).first().getAttribute('aria-label', { timeout: 300 }).catch(() => null);
      if (bar) seen.statusBar.add(bar);
      const p = await toast(page, 'LLaVA-KD: Full pipeline — exp-a').first().innerText({ timeout: 300 }).catch(() => null);
      if (p) seen.progress.add(p.replace(/\s+/g, ' '));
      return (await finished.count()) > 0 ? true : undefined;
    }, 'the "Full pipeline … finished" notification', RUN_TIMEOUT_MS);
    const trees = [...seen.tree], bars = [...seen.statusBar], progress = [...seen.progress];
    console.log(`  seen while training: tree ${trees.length}, status bar ${bars.length}, progress ${progress.length}; e.g.\n    ${[trees.at(-1), bars.at(-1), progress.at(-1)].join('\n    ')}`);
    assert.ok(trees.some((l) => /^[\w-]+, [a-z]+\/[a-z]+ \d+\/\d+ · \d+%/.test(l)), `the tree showed the running run with its stage and step: ${JSON.stringify(trees)}`);
    assert.ok(bars.some((b) => /^LLaVA-KD training [a-z]+\/[a-z]+ step [1-9]\d* of \d+/.test(b)), `the status bar showed stage and step: ${JSON.stringify(bars)}`);
    assert.ok(progress.some((p) => /LLaVA-KD: Full pipeline — exp-a: [a-z]+\/[a-z]+ \d+\/\d+/.test(p)), `the progress notification showed stage and step: ${JSON.stringify(progress)}`);

    const [dir] = runDirs(expDir());
    assert.ok(dir, 'a run folder exists');
    runs.first = dir;
    const st = readStatus(dir);
    assert.equal(st.state, 'completed');
    assert.equal(st.completedStages.length, 9, `completed: ${st.completedStages}`); // the default plan: no teacher/lm (teacher.lmPretrain off)
    const finishedText = await finished.first().innerText();
    assert.match(finishedText, new RegExp(`Full pipeline \\(${st.runId}\\) finished`));
    assert.match(finishedText, /kd \d+\.\d%/, 'the notification names the kd accuracy');
    // The tree: the run completed, status bar item gone.
    const row = await waitTreeItem(page, `${st.runId}, completed`);
    assert.match((await row.getAttribute('aria-label')) ?? '', /completed · kd \d+\.\d%/);
    await waitUntil(page, async () => ((await trainingStatusItem(page).count()) === 0 ? true : undefined), 'the training status-bar item to go away');
    await expandTreeItem(page, `${st.runId}, completed`);
    await waitTreeItem(page, 'kd/dft, done');
    await screenshot(page, 'tree');
  });

  it('2. Dashboard: every loss series has points; raw/weighted toggle', { timeout: 90_000 }, async () => {
    assert.ok(runs.first, 'needs the run of scenario 1');
    const st = readStatus(runs.first);
    // The completion toast's button when it is still on screen (toasts hide after a while),
    // else the palette command: both are ways a user opens the dashboard.
    const done = toast(page, `(${st.runId}) finished`);
    if (await done.count()) await clickToastButton(page, 'Open Dashboard', `(${st.runId}) finished`);
    else {
      await runCommand(page, 'LLaVA-KD: Open Dashboard');
      await pickMany(page, [st.runId]);
    }
    const dash = await webviewFrame(page, TITLES.dashboard);
    const all = fs.readFileSync(path.join(runs.first, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; globalStep: number });
    const metricsLines = all.length;
    const d = await waitDebug<DashDebug>(page, dash, (x) => x.state === 'ready' && x.runs?.length === 1 && x.series['loss:CE · kd'] > 0,
      'the dashboard to render the run');
    assert.equal(d.runs[0].runId, st.runId);
    assert.equal(d.runs[0].state, 'completed');
    assert.equal(d.runs[0].metrics, metricsLines, 'one metrics point per metrics.jsonl line');
    // #9: it opens on the distillation stages (no vision / LM pre-training), one series per track.
    assert.equal(d.stage, 'distill', 'the dashboard opens on the distillation stages');
    const perTrack = (t: string) => all.filter((l) => l.stage.startsWith(`${t}/`) && !l.stage.endsWith('/lm')).length;
    for (const t of ['teacher', 'baseline', 'kd']) {
      assert.ok(perTrack(t) > 0, `the run has ${t} stages`);
      assert.equal(d.series[`loss:CE · ${t}`], perTrack(t), `CE of the ${t} is its own series, a point per ${t} metrics line (${JSON.stringify(d.series)})`);
      assert.equal(d.series[`total:Total · ${t}`], perTrack(t), `Total of the ${t} is its own series`);
    }
    assert.equal(d.series['loss:CE'], undefined, 'no CE line joined across the tracks');
    assert.equal(pointsOf(d.series, 'loss', 'Task'), 0, 'no vision pre-training (Task) series in the distillation view');
    for (const name of LOSS_SERIES) assert.ok(d.series[`loss:${name} · kd`] > 0, `loss series ${name} of kd has points (${JSON.stringify(d.series)})`);
    const firstDistill = Math.min(...all.filter((l) => !l.stage.startsWith('vision/') && !l.stage.endsWith('/lm')).map((l) => l.globalStep));
    assert.ok(d.lossX && d.lossX.min >= firstDistill, `the x axis starts at the distillation stages (${JSON.stringify(d.lossX)}, first ${firstDistill})`);
    assert.ok(d.series['acc:kd val'] > 0, 'eval accuracy of kd is plotted');
    assert.equal(d.weighted, false);
    assert.ok(await colouredPixels(dash, '#chart-loss') > 300, 'the loss chart draws coloured lines');
    assert.ok(await colouredPixels(dash, '#chart-total') > 100, 'the total-loss chart draws a line');
    // Each distillation term again on its own scale (#9: RDist ~0.005 was flat on the 0-6 axis).
    for (const [t, name] of [['ce', 'CE'], ['res', 'MDist-response'], ['vis', 'MDist-visual'], ['rel', 'RDist']]) {
      assert.equal(pointsOf(d.series, `term-${t}`, name), pointsOf(d.series, 'loss', name), `the ${name} chart has the breakdown's points`);
    }
    assert.ok(d.yMax['term-rel']! < 0.1 * d.yMax.loss!, `RDist read on its own scale (top ${d.yMax['term-rel']} vs the breakdown's ${d.yMax.loss})`);
    assert.ok(await colouredPixels(dash, '#chart-term-rel') > 50, 'the RDist chart draws a line');
    // The per-type chart plots kd by default, and its Model select says so.
    assert.match(String(d.typeSeries), /\|kd$/, 'per-type accuracy shows kd by default');
    assert.equal(await dash.locator('#type-series').evaluate((el) => (el as HTMLElement & { value: string }).value), d.typeSeries,
      'the Model select shows the plotted model');
    // Legend: formula labels with the run's weights (γ = 0.5 in the tiny/default preset).
    const rel = await legendRow(dash, 'rel');
    assert.match(rel[1], /γ/);
    assert.match(rel[1], /0\.5/);
    await screenshot(page, 'dashboard');
    await dash.locator('#card-loss').screenshot({ path: path.join(SCREENSHOT_DIR, 'dashboard-loss-card.png') });
    await dash.locator('#card-acc').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-lower');
    await dash.locator('#run-status').scrollIntoViewIfNeeded();
    console.log(`  dashboard debug: ${JSON.stringify(d)}`);

    await dash.locator('#weighted').click();
    const w = await waitDebug<DashDebug>(page, dash, (x) => x.weighted === true, 'the dashboard in weighted mode');
    for (const name of LOSS_SERIES) assert.ok(pointsOf(w.series, 'loss', name) > 0, `weighted ${name} has points`);
    assert.equal(await dash.locator('#loss-mode').innerText(), 'weighted (weight × raw)');
    // weighted = γ × raw for RDist (last values in the legend table).
    const [, , raw, weighted] = await legendRow(dash, 'rel');
    assert.ok(Math.abs(Number(weighted) - 0.5 * Number(raw)) <= 1e-3 * Math.abs(Number(raw)) + 1e-9, `RDist weighted ${weighted} = 0.5 × raw ${raw}`);
    await screenshot(page, 'dashboard-weighted');
    await dash.locator('#weighted').click();
    await waitDebug<DashDebug>(page, dash, (x) => x.weighted === false, 'the dashboard back in raw mode');

    // Stage filter: the curves on "step in stage", the term table from that stage (#9: it showed
    // the last kd/dft values under kd/dpt, and a stale Task row everywhere).
    const lines = fs.readFileSync(path.join(runs.first, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; step: number; loss: Record<string, number> });
    for (const stage of ['kd/dpt', 'kd/dft']) {
      await chooseOption(dash, 'stage-filter', stage);
      const sd = await waitDebug<DashDebug>(page, dash, (x) => x.stage === stage && x.xAxis === 'stage', `the dashboard on ${stage}`);
      const mine = lines.filter((l) => l.stage === stage);
      const last = mine[mine.length - 1];
      assert.equal(sd.xTitle, 'step in stage');
      assert.ok(sd.lossX && sd.lossX.min >= 1 && sd.lossX.max === last.step, `x = step in the stage (${JSON.stringify(sd.lossX)}, last step ${last.step})`);
      const header = await dash.locator('#loss-legend tr').first().innerText();
      assert.match(header, new RegExp(`last raw \\(${stage.replace('/', '\\/')}\\)`));
      const terms = await dash.locator('#loss-legend tr[data-term]').evaluateAll((els) => els.map((e) => e.getAttribute('data-term')));
      assert.deepEqual(terms, ['ce', 'res', 'vis', 'rel'], `${stage}: its four terms, no Task row`);
      for (const t of ['ce', 'rel']) {
        const [, , raw] = await legendRow(dash, t);
        assert.ok(Math.abs(Number(raw) - last.loss[t]) <= 2e-3 * Math.abs(last.loss[t]) + 1e-9, `${stage} ${t}: table ${raw} = last ${stage} line ${last.loss[t]}`);
      }
      if (stage === 'kd/dpt') await screenshot(page, 'dashboard-stage-dpt');
    }
    await chooseOption(dash, 'x-axis', 'Wall time');
    const wt = await waitDebug<DashDebug>(page, dash, (x) => x.xAxis === 'time', 'the dashboard on wall time');
    assert.ok(wt.lossX && wt.lossX.min >= 0 && wt.lossX.max < 60, `wall time in minutes (${JSON.stringify(wt.lossX)})`);
    await chooseOption(dash, 'x-axis', 'Auto (step in stage)');
    // Step in track: the baseline's and the KD student's training side by side from 0.
    await chooseOption(dash, 'stage-filter', 'Distillation stages (no pre-training)');
    await chooseOption(dash, 'x-axis', 'Step in track (baseline beside kd)');
    const tr = await waitDebug<DashDebug>(page, dash, (x) => x.stage === 'distill' && x.xAxis === 'track', 'the dashboard on step in track');
    assert.equal(tr.xTitle, 'step in track');
    assert.ok(tr.lossX && tr.lossX.min >= 1 && tr.lossX.min <= 10, `tracks start at their first steps (${JSON.stringify(tr.lossX)})`);
    await screenshot(page, 'dashboard-track-axis');
    await chooseOption(dash, 'x-axis', 'Auto (global step)');
    await chooseOption(dash, 'stage-filter', 'All stages');
    const back = await waitDebug<DashDebug>(page, dash, (x) => x.stage === 'all' && x.xAxis === 'global', 'the dashboard back on all stages');
    assert.equal(back.xTitle, 'global step');
    assert.ok(pointsOf(back.series, 'loss', 'Task') > 0, 'all stages: the vision pre-training Task loss too');
    assert.equal(pointsOf(back.series, 'total', 'Total'), metricsLines, 'all stages: a Total point per metrics line');
  });

  it('3. Samples: images load; the step scrubber moves the cards', { timeout: 60_000 }, async () => {
    assert.ok(runs.first, 'needs the run of scenario 1');
    const st = readStatus(runs.first);
    await runCommand(page, 'LLaVA-KD: Show Samples');
    await pickMany(page, [st.runId]);
    const view = await webviewFrame(page, TITLES.samples);
    const sampleLines = fs.readFileSync(path.join(runs.first, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { globalStep: number; stage: string; step: number });
    const steps = [...new Set(sampleLines.map((l) => l.globalStep))].sort((a, b) => a - b);
    const d = await waitDebug<SamplesDebug>(page, view, (x) => x.state === 'ready' && x.shownRows > 0 && x.imagesLoaded > 0,
      'the samples panel with loaded images');
    assert.equal(d.runs[0].samples, sampleLines.length);
    assert.equal(d.steps, steps.length);
    assert.equal(d.step, steps.at(-1), 'starts at the latest evaluation');
    assert.equal(d.imagesFailed, 0);
    assert.equal(d.placeholders, 0);
    const natural = await view.locator('img.sample-image').first().evaluate((i) => (i as HTMLImageElement).naturalWidth);
    assert.ok(natural > 0, 'the first image decoded');
    const lastAt = sampleLines.filter((l) => l.globalStep === steps.at(-1));
    assert.match(await view.locator('.answer-head').first().innerText(), new RegExp(`${lastAt[0].stage} step ${lastAt[0].step}\\b`));
    const teacher = await view.locator('.teacher-answer').allInnerTexts();
    assert.ok(teacher.length > 0 && teacher.every((t) => t.trim().length > 0), `every teacher answer shows text or a marker: ${JSON.stringify(teacher)}`);
    if (lastAt[0].stage === 'kd/dft') {
      // The student's answer and the teacher's, each scored (#9: the teacher's never was).
      const card = view.locator('.answer-card').first();
      assert.equal(await card.getAttribute('data-trained'), 'student');
      assert.equal(await card.locator('.answer-label').first().innerText(), 'Student');
      assert.equal(await card.locator('[aria-label^="Teacher correct"], [aria-label^="Teacher incorrect"]').count(), 1, 'the teacher answer is scored');
    }
    await screenshot(page, 'samples');

    await view.locator('#step-scrubber').focus();
    await page.keyboard.press('Home');
    const first = sampleLines.find((l) => l.globalStep === steps[0])!;
    const moved = await waitDebug<SamplesDebug>(page, view, (x) => x.step === steps[0], 'the scrubber to move to the first evaluation');
    assert.ok(moved.shownRows > 0);
    assert.match(await view.locator('#step-label').innerText(), new RegExp(`step ${steps[0]} \\(1/${steps.length}\\)`));
    await waitUntil(page, async () => {
      const head = await view.locator('.answer-head').first().innerText();
      return new RegExp(`${first.stage} step ${first.step}\\b`).test(head) ? true : undefined;
    }, `the cards to show ${first.stage} step ${first.step}`);
    if (first.stage.startsWith('teacher/')) {
      // The teacher's own stage: its answers are labelled Teacher, with no "no teacher" line beside them.
      const card = view.locator('.answer-card').first();
      assert.equal(await card.getAttribute('data-trained'), 'teacher');
      assert.deepEqual(await card.locator('.answer-label').allInnerTexts(), ['Teacher']);
      assert.equal(await view.locator('.answer-card', { hasText: 'no teacher' }).count(), 0);
      await screenshot(page, 'samples-teacher-stage');
    }
    await page.keyboard.press('ArrowRight');
    await waitDebug<SamplesDebug>(page, view, (x) => x.step === steps[1], 'the scrubber to step to the second evaluation');
  });

  it('4. Compare two runs (edited hyper-parameter): differences only', { timeout: 150_000 }, async () => {
    assert.ok(runs.first, 'needs the run of scenario 1');
    // Edit through the editor: γ of DFT 0.5 -> 0.25, save, train again.
    await openFile(page, 'exp-a/kd-experiment.json');
    const text = '{\n  "preset": "tiny",\n  "name": "exp-a",\n  "stages": { "dft": { "loss": { "rel": 0.25 } } }\n}\n';
    await editorReplaceAll(page, text, { save: true });
    assert.equal(fs.readFileSync(path.join(expDir(), 'kd-experiment.json'), 'utf8'), text);
    await clearToasts(page);
    await runCommand(page, 'LLaVA-KD: Run Full Pipeline');
    runs.second = await waitNewRun(page, expDir(), [runs.first]);
    const id2 = path.basename(runs.second);
    await notification(page, `(${id2}) finished`, RUN_TIMEOUT_MS);
    assert.equal(readStatus(runs.second).state, 'completed');

    await runCommand(page, 'LLaVA-KD: Compare Configs');
    await pickMany(page, [path.basename(runs.first), id2]);
    const view = await webviewFrame(page, TITLES.configDiff);
    const d = await waitDebug<DiffDebug>(page, view, (x) => x.state === 'ready' && x.columns.length === 2, 'the config diff with two runs');
    assert.equal(d.differencesOnly, true, '"Differences only" starts on');
    const keys = await view.locator('#config-table tbody tr[data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
    assert.deepEqual(keys, ['stages.dft.loss.rel'], 'only the edited key differs');
    assert.equal(d.differing, 1);
    assert.equal(d.shownRows, 1);
    const cells = await view.locator('#config-table tbody tr[data-key="stages.dft.loss.rel"] td').allInnerTexts();
    assert.deepEqual(cells.map((c) => c.trim()).sort(), ['0.25', '0.5']);
    await screenshot(page, 'config-diff');

    await view.locator('#differences-only').click();
    const all = await waitDebug<DiffDebug>(page, view, (x) => x.differencesOnly === false, '"Differences only" off');
    assert.equal(all.shownRows, all.rows);
    assert.ok(all.rows > 50, `all keys shown (${all.rows})`);
    assert.equal(await view.locator('#config-table tbody tr[data-key="name"]').count(), 1, 'unchanged key "name" shows with differences off');
    await view.locator('#differences-only').click();
    await waitDebug<DiffDebug>(page, view, (x) => x.differencesOnly === true && x.shownRows === 1, '"Differences only" on again');
    assert.equal(await view.locator('#config-table tbody tr[data-key="name"]').count(), 0, 'unchanged key "name" hidden');
  });

  it('5. Start Distilled Fine-Tuning from a finished run: new run with kd/dft complete', { timeout: 120_000 }, async () => {
    assert.ok(runs.first && runs.second, 'needs the runs of scenarios 1 and 4');
    await clearToasts(page);
    await runCommand(page, 'LLaVA-KD: Start Distilled Fine-Tuning');
    await pickQuickItem(page, path.basename(runs.first), { exact: false });
    runs.dft = await waitNewRun(page, expDir(), [runs.first, runs.second]);
    const id = path.basename(runs.dft);
    await notification(page, `Distilled fine-tuning (kd/dft) (${id}) finished`, RUN_TIMEOUT_MS);
    const st = readStatus(runs.dft);
    assert.equal(st.state, 'completed');
    assert.deepEqual(st.stages, ['kd/dft']);
    assert.deepEqual(st.completedStages, ['kd/dft']);
    assert.equal(st.from, runs.first);
    assert.ok(fs.existsSync(path.join(runs.dft, 'checkpoints/kd-dft.safetensors')));
    await expandTreeItem(page, `${id}, completed`);
    const row = treeItem(page, `${id}, completed`);
    // The children render a moment after the row reports expanded: read them once they are there.
    const childRows = async () => page.locator('.part.sidebar [role="treeitem"]').evaluateAll((els, rowLabel) => {
      const i = els.findIndex((e) => e.getAttribute('aria-label') === rowLabel);
      const level = Number(els[i].getAttribute('aria-level'));
      const out: string[] = [];
      for (let j = i + 1; j < els.length && Number(els[j].getAttribute('aria-level')) > level; j++) {
        if (Number(els[j].getAttribute('aria-level')) === level + 1) out.push(els[j].getAttribute('aria-label') ?? '');
      }
      return out;
    }, (await row.getAttribute('aria-label')) ?? '');
    const stageRows = await waitUntil(page, async () => { const r = await childRows(); return r.length ? r : undefined; }, `the rows under ${id}`);
    assert.deepEqual(stageRows.filter((l) => !l.includes('.safetensors')), ['kd/dft, done']);
  });

  it('6. Stop a long run (asked first; a second pipeline meanwhile is queued): tree shows it stopped, Resume offered', { timeout: 200_000 }, async () => {
    writeLongExperiment(ws, 'long', 5000);
    const longDir = path.join(ws, 'long');
    await collapseTree(page);
    await expandTreeItem(page, 'long, ');
    await clearToasts(page);
    await runCommand(page, 'LLaVA-KD: Run Full Pipeline');
    await pickQuickItem(page, 'long', { exact: false });
    runs.long = await waitNewRun(page, longDir, []);
    const id = path.basename(runs.long);
    await waitUntil(page, async () => {
      const st = readStatus(runs.long!);
      return st.state === 'running' && st.step >= 3 ? true : undefined;
    }, 'the long run to train a few steps', RUN_TIMEOUT_MS);
    await waitVisible(page, trainingStatusItem(page), 'the training status-bar item');
    // The progress notification shows while the run starts, then leaves the screen to the
    // status bar (#9: it covered the dashboard for the whole run, and came back after Clear All).
    await waitUntil(page, async () => ((await toast(page, 'LLaVA-KD: Full pipeline — long').count()) === 0 ? true : undefined),
      'the progress notification to close itself while the long run trains', 30_000);
    assert.equal(readStatus(runs.long).state, 'running', 'the run still trains');
    await waitVisible(page, trainingStatusItem(page), 'the training status-bar item, still there');
    // A second pipeline while one trains: asked, and queued (#9: it started beside it, with a "(+1)").
    const before = runDirs(expDir());
    await runCommand(page, 'LLaVA-KD: Run Full Pipeline');
    await pickQuickItem(page, 'exp-a', { exact: false });
    const ask = await waitVisible(page, page.locator('.monaco-dialog-box'), 'the start-or-queue dialog');
    assert.match(await ask.innerText(), new RegExp(`${id} is training\\. Start Full pipeline now beside it, or queue it\\?`));
    await screenshot(page, 'queue-dialog');
    await ask.locator('.monaco-button', { hasText: 'Queue' }).first().click();
    await notification(page, `Full pipeline (exp-a) queued: it starts when ${id} has ended`);
    assert.deepEqual(runDirs(expDir()), before, 'the queued run has not started');
    await runCommand(page, 'LLaVA-KD: Stop Training');
    // Stop asks first, naming where the run is (#9: a long run stopped without confirmation).
    const dialog = await waitVisible(page, page.locator('.monaco-dialog-box'), 'the Stop confirmation dialog');
    assert.match(await dialog.innerText(), new RegExp(`Stop Full pipeline \\(${id}\\) at vision\\/vision \\d+\\/5000\\?`));
    await screenshot(page, 'stop-confirmation');
    await dialog.locator('.monaco-button', { hasText: 'Stop' }).first().click();
    await notification(page, `(${id}) stopped at vision/vision`, 60_000);
    const st = readStatus(runs.long);
    assert.equal(st.state, 'stopped');
    assert.ok(st.step >= 3 && st.step < 5000, `stopped mid-stage (step ${st.step})`);
    const row = await waitTreeItem(page, `${id}, stopped at vision/vision ${st.step}/5000`);
    assert.equal(await toast(page, `(${id}) stopped`).locator('.monaco-button', { hasText: 'Resume' }).count(), 1, 'the notification offers Resume');
    await row.hover();
    await waitVisible(page, row.locator('.action-label[aria-label^="Resume Run"]'), 'the inline "Resume Run" action of the stopped run');
    await screenshot(page, 'tree-stopped');
    // The queued pipeline starts once the long run has ended; let it finish before the next scenario.
    const queuedRun = await waitNewRun(page, expDir(), before);
    await notification(page, `Full pipeline (${path.basename(queuedRun)}) finished`, RUN_TIMEOUT_MS);
  });

  it('8a. Failure: a trainer killed with SIGKILL mid-stage shows as failed, Resume offered', { timeout: 120_000 }, async () => {
    assert.ok(runs.long, 'needs the stopped run of scenario 6');
    const id = path.basename(runs.long);
    const before = readStatus(runs.long);
    await clearToasts(page);
    // Resume it from the tree (inline action), then kill the trainer hard.
    await collapseTree(page);
    await expandTreeItem(page, 'long, ');
    const row = await waitTreeItem(page, `${id}, stopped`);
    await row.hover();
    await row.locator('.action-label[aria-label^="Resume Run"]').click();
    const running = await waitUntil(page, async () => {
      const st = readStatus(runs.long!);
      return st.state === 'running' && st.pid !== before.pid && st.step > before.step ? st : undefined;
    }, 'the resumed run to train on from its checkpoint', RUN_TIMEOUT_MS);
    assert.equal(running.stage, 'vision/vision');
    process.kill(running.pid, 'SIGKILL');
    // Titled after what the run trains, resumed (not "Resume (...)").
    await notification(page, `, resumed (${id}) failed (killed by SIGKILL)`, 30_000);
    const failedRow = await waitTreeItem(page, `${id}, failed at vision/vision`, { timeout: 30_000 });
    await failedRow.hover();
    await waitVisible(page, failedRow.locator('.action-label[aria-label^="Resume Run"]'), 'the inline "Resume Run" action of the failed run');
    assert.equal(await toast(page, `(${id}) failed`).locator('.monaco-button', { hasText: 'Resume' }).count(), 1, 'the failure notification offers Resume');
    // status.json still says running (nobody rewrote it): the extension judged the dead pid.
    assert.equal(readStatus(runs.long).state, 'running');
    await screenshot(page, 'tree-failed');
  });

  it('8b. Failure: a corrupt metrics.jsonl line; the dashboard still renders', { timeout: 60_000 }, async () => {
    assert.ok(runs.first, 'needs the run of scenario 1');
    const file = path.join(runs.first, 'metrics.jsonl');
    const good = fs.readFileSync(file, 'utf8').trim().split('\n').length;
    fs.appendFileSync(file, '{"time": "2026-01-01T00:00:00Z", "stage": "kd/dft", "step": 11, "loss": {tru\n');
    await runCommand(page, 'LLaVA-KD: Open Dashboard');
    await pickMany(page, [path.basename(runs.first)]);
    const dash = await webviewFrame(page, TITLES.dashboard);
    const d = await waitDebug<DashDebug>(page, dash,
      (x) => x.state === 'ready' && x.runs?.length === 1 && x.runs[0].runId === path.basename(runs.first!), 'the dashboard of the run with a corrupt line');
    assert.equal(d.runs[0].metrics, good, 'the good lines are all shown, the corrupt one skipped');
    for (const name of LOSS_SERIES) assert.ok(pointsOf(d.series, 'loss', name) > 0, `loss series ${name} still has points`);
    assert.ok(await colouredPixels(dash, '#chart-loss') > 300, 'the loss chart still draws');
    assert.equal(await dash.locator('.state-error').count(), 0, 'no error state');
  });

  it('8c. Failure: a deleted sample image shows a placeholder', { timeout: 60_000 }, async () => {
    assert.ok(runs.second, 'needs the run of scenario 4');
    const lines = fs.readFileSync(path.join(runs.second, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; globalStep: number });
    assert.ok(lines.length > 0, 'the run wrote samples');
    // Every evaluation samples the same val questions: delete the image of the first one.
    const gone = lines[0].image;
    deletedImage = gone;
    fs.rmSync(gone);
    await runCommand(page, 'LLaVA-KD: Show Samples');
    await pickMany(page, [path.basename(runs.second)]);
    const view = await webviewFrame(page, TITLES.samples);
    const d = await waitDebug<SamplesDebug>(page, view,
      (x) => x.state === 'ready' && x.runs[0]?.runId === path.basename(runs.second!) && x.placeholders > 0,
      'a placeholder for the deleted image');
    const name = path.basename(gone);
    const shown = lines.filter((l) => l.globalStep === d.step);
    assert.ok(shown.length > 0, `samples at the shown step ${d.step}`);
    assert.equal(d.shownRows, shown.length, 'every sample row still shows');
    assert.equal(d.placeholders, shown.filter((l) => l.image === gone).length, 'one placeholder per sample of the deleted image');
    await waitVisible(page, view.locator(`.image-placeholder[aria-label="Image not found: ${name}"]`), 'the placeholder naming the missing file');
    if (shown.some((l) => l.image !== gone)) {
      await waitDebug<SamplesDebug>(page, view, (x) => x.imagesLoaded > 0, 'the other images to load');
      assert.ok(await view.locator('img.sample-image').count() > 0, 'the other images show');
    }
    await screenshot(page, 'samples-missing-image');
  });

  it('9. Stored teacher: a run that trained and stored it and one that reused it show it in the tree', { timeout: 120_000 }, async () => {
    const file = writeWorkspaceFile(ws, 'exp-store/kd-experiment.json', JSON.stringify({ preset: 'tiny', name: 'exp-store', teacher: { cache: 'reuse' } }, null, 2) + '\n');
    const cache = makeTempDir('kd-store');
    const cli = () => {
      const r = spawnSync(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'run', file, '--stages', 'teacher-side,student/lm,kd/dpt', '--backend', 'wasm'], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, LLAVA_KD_CACHE_DIR: cache } });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
    };
    cli();
    cli();
    const dirs = fs.readdirSync(path.join(ws, 'exp-store', 'runs')).sort().map((d) => path.join(ws, 'exp-store', 'runs', d));
    const [trained, reused] = dirs.map(readStatus);
    assert.equal(trained.teacherStore?.source, 'trained');
    assert.equal(reused.teacherStore?.source, 'cache');
    const key8 = reused.teacherStore!.key.slice(0, 8);
    await collapseTree(page);
    await expandTreeItem(page, 'exp-store, ');
    await expandTreeItem(page, `${reused.runId}, completed`);
    await waitTreeItem(page, `teacher ${key8}, reused from the teacher store`);
    await waitTreeItem(page, 'vision/vision, done · from the teacher store');
    await screenshot(page, 'tree-teacher');
    await expandTreeItem(page, `${trained.runId}, completed`);
    await waitTreeItem(page, `teacher ${key8}, trained by this run, stored`);
  });

  it('11. Run table: config differences, accuracies, seed groups with bands; rows pick what the charts show', { timeout: 150_000 }, async () => {
    assert.ok(runs.first && runs.second, 'needs the runs of scenarios 1 and 4');
    // Two runs of one config that differ only in the seed (trained by the CLI, as on a cluster).
    const seedRuns: string[] = [];
    for (const seed of [1, 2]) {
      const file = writeWorkspaceFile(ws, `seeds-${seed}/kd-experiment.json`, JSON.stringify({ preset: 'tiny', name: 'seeds', seed }, null, 2) + '\n');
      const r = spawnSync(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'run', file, '--backend', 'wasm'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `seed ${seed} trained: ${r.stderr.slice(-500)}`);
      seedRuns.push(runDirs(path.dirname(file))[0]);
    }
    const ids = [runs.first, runs.second, ...seedRuns].map((d) => path.basename(d));
    await runCommand(page, 'LLaVA-KD: Open Dashboard');
    await pickMany(page, ids);
    const dash = await webviewFrame(page, TITLES.dashboard);
    type Row = { id: string; cells: Record<string, string> };
    const d = await waitDebug<DashDebug & { table: Row[]; grouped: boolean; hidden: number }>(page, dash,
      (x) => x.state === 'ready' && x.runs?.length === 4 && Array.isArray(x.table) && x.table.length === 3, 'the run table with two runs and one seed group');
    assert.equal(d.grouped, true, 'seed groups on by default');
    const group = d.table.find((r) => r.id.startsWith('group:'))!;
    assert.ok(group, `a seed group row (${JSON.stringify(d.table)})`);
    assert.match(group.cells.label, /^seeds \(2 seeds\)/);
    assert.equal(group.cells['config:seed'], '1, 2');
    // The group's test accuracy is the mean of its members' final kd test evals.
    const finalKd = (dir: string): number => {
      const tests = fs.readFileSync(path.join(dir, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; split: string; accuracy: number }).filter((e) => e.model === 'kd' && e.split === 'test');
      return tests[tests.length - 1].accuracy;
    };
    const mean = (finalKd(seedRuns[0]) + finalKd(seedRuns[1])) / 2;
    assert.match(group.cells.testKd, new RegExp(`^${(mean * 100).toFixed(1)}% ± \\d+\\.\\d \\(N=2\\)$`), `group test accuracy = mean of the members (${group.cells.testKd})`);
    // The edited key of scenario 4 is a column; the first run's row shows its value and accuracy.
    const first = d.table.find((r) => r.id === `run:${runs.first}`)!;
    assert.equal(first.cells['config:stages.dft.loss.rel'], '0.5');
    assert.equal(d.table.find((r) => r.id === `run:${runs.second}`)!.cells['config:stages.dft.loss.rel'], '0.25');
    assert.equal(first.cells.testKd, `${(finalKd(runs.first) * 100).toFixed(1)}%`);
    assert.match(first.cells.kdMinusBaseline, /^[+−]\d+\.\d \(1 seed\)$/);
    // Comparison with a reference row: the group as reference, each run's difference to its mean.
    await dash.locator(`#run-table tr[data-row="${group.id.replace(/"/g, '\\"')}"] input[type=radio]`).click();
    const withRef = await waitDebug<DashDebug & { table: Row[] }>(page, dash, (x) => x.table?.some((r) => r.cells.vsRef === 'reference'), 'the group picked as reference');
    const firstVs = withRef.table.find((r) => r.id === `run:${runs.first}`)!.cells.vsRef;
    const want = finalKd(runs.first) - mean;
    assert.equal(firstVs, `${want >= 0 ? '+' : '−'}${Math.abs(want * 100).toFixed(1)} (1 seed)`, `first run vs the group (${firstVs})`);
    // The charts draw the group as a mean with a band and its members faint.
    assert.ok(Object.keys(d.series).some((k) => /^loss:CE · kd · seeds \(2 seeds\) \(band\)$/.test(k)), `a band for the group (${Object.keys(d.series).filter((k) => k.includes('seeds')).join(', ')})`);
    assert.ok(Object.keys(d.series).some((k) => k.startsWith('loss:CE · kd · seeds (2 seeds) (member ')), 'the members drawn faint');
    await dash.locator('#runs-card').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-run-table');
    // Export through the save dialog, at the path it proposes (the workspace folder and a file name
    // from the chart's title): the run table as CSV, the loss chart as SVG and PNG. (Typing another
    // folder into code-server's dialog sometimes leaves it stuck listing that folder.)
    const saveAs = async (button: string, proposed: string): Promise<Buffer> => {
      await dash.locator(button).click();
      // code-server's save dialog fills in the proposed path a moment after it opens: wait for it.
      const target = await waitUntil(page, async () => {
        const v = (await quickInputState(page)).value;
        return v.endsWith(`/${proposed}`) ? v : undefined;
      }, `the save dialog proposing ${proposed}`);
      assert.equal(target, path.join(ws, proposed), 'the dialog proposes the workspace folder');
      await page.keyboard.press('Enter');
      return waitUntil(page, async () => {
        if (fs.existsSync(target) && fs.statSync(target).size > 0) return fs.readFileSync(target);
        // Enter is ignored while the dialog still lists the folder: press its OK button until it takes the path.
        const st = await quickInputState(page);
        if (st.visible && st.value === target) await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click({ timeout: 1000 }).catch(() => undefined);
        return undefined;
      }, `${proposed} written`);
    };
    const csv = (await saveAs('#export-run-table', 'run-table.csv')).toString('utf8').trim().split('\r\n');
    assert.match(csv[0], /^row,label,runs,control,seed,.*stages\.dft\.loss\.rel,val kd,/, `CSV header: ${csv[0]}`);
    assert.equal(csv.length, 4, 'a header and the three rows');
    assert.ok(csv.some((l) => l.startsWith('group,seeds (2 seeds),') && l.includes(`,${mean},`)), `the group row with its mean test accuracy ${mean}: ${csv.join(' | ')}`);
    const svg = (await saveAs('#export-loss-svg', 'loss-breakdown.svg')).toString('utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok((svg.match(/<polyline /g) ?? []).length >= 6, 'the series as vector polylines');
    assert.match(svg, />CE · kd · seeds \(2 seeds\)</, 'the legend names the group');
    const png = await saveAs('#export-loss-png', 'loss-breakdown.png');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    // Parameters vs results: x = the differing numeric key (γ of DFT), a point per run at its final test accuracy.
    const pr = await waitDebug<DashDebug & { params: { key: string; metric: string; points: { label: string; x: number; y: number }[] }; typeCharts: number }>(page, dash,
      (x) => x.state === 'ready', 'the params view');
    assert.equal(pr.params.key, 'stages.dft.loss.rel');
    assert.equal(pr.params.points.length, 4, `a point per run: ${JSON.stringify(pr.params.points)}`);
    const p1 = pr.params.points.find((q) => q.label === path.basename(runs.first!))!;
    assert.deepEqual([p1.x, p1.y], [0.5, finalKd(runs.first)]);
    assert.equal(pr.params.points.find((q) => q.label === path.basename(runs.second!))!.x, 0.25);
    assert.ok(pr.typeCharts >= 2, `accuracy per question type for every shown run: ${pr.typeCharts} small charts`);
    await dash.locator('#card-params').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-params-vs-results');
    // Zoom: a drag across the loss chart zooms every chart to that range; a double click resets.
    const canvas = dash.locator('#chart-loss');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.6);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.6, { steps: 5 });
    await page.mouse.up();
    type ZoomDebug = DashDebug & { xRange: { min: number; max: number } | null; lossScale: { min: number; max: number } };
    const z = await waitDebug<ZoomDebug>(page, dash, (x) => x.xRange !== null, 'the charts zoomed to the dragged range');
    const full = d.lossX!;
    assert.ok(z.xRange!.min > full.min && z.xRange!.max < full.max, `zoomed inside the data (${JSON.stringify(z.xRange)} of ${JSON.stringify(full)})`);
    assert.ok(Math.abs(z.lossScale.min - z.xRange!.min) < 1e-6 && Math.abs(z.lossScale.max - z.xRange!.max) < 1e-6, `the loss chart's axis follows (${JSON.stringify(z.lossScale)})`);
    await screenshot(page, 'dashboard-zoomed');
    await canvas.dblclick();
    await waitDebug<ZoomDebug>(page, dash, (x) => x.xRange === null, 'zoom reset by a double click');
    // Sorting: by test accuracy, descending on the second click.
    await dash.locator('#run-table th[data-col="testKd"] button').click();
    await dash.locator('#run-table th[data-col="testKd"] button').click();
    assert.equal(await dash.locator('#run-table th[data-col="testKd"]').getAttribute('aria-sort'), 'descending');
    const sorted = (await waitDebug<DashDebug & { table: Row[] }>(page, dash, (x) => x.state === 'ready', 'the sorted table')).table.map((r) => parseFloat(r.cells.testKd));
    assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a), `sorted by test accuracy, descending (${sorted})`);
    // Unticking a run leaves it out of the charts.
    await dash.locator(`#run-table tr[data-row="run:${runs.second}"] input[type=checkbox]`).click();
    const hid = await waitDebug<DashDebug & { hidden: number }>(page, dash, (x) => x.hidden === 1, 'one run left out of the charts');
    assert.ok(!Object.keys(hid.series).some((k) => k.includes(path.basename(runs.second!))), 'no series of the unticked run');
    // Ungrouped: a row per run.
    await dash.locator('#group-seeds').click();
    const flat = await waitDebug<DashDebug & { table: Row[]; grouped: boolean }>(page, dash, (x) => x.grouped === false, 'the table ungrouped');
    assert.equal(flat.table.length, 4);
    assert.ok(!Object.keys(flat.series).some((k) => k.endsWith('(band)')), 'no bands when ungrouped');
    await dash.locator('#group-seeds').click();

    // The same views in a dark workbench (the Color Theme picker, as a user switches), then back.
    const bodyClass = async (): Promise<string> => (await dash.locator('body').getAttribute('class')) ?? '';
    const pickTheme = async (name: string, bodyWants: string): Promise<void> => {
      await runCommand(page, 'Preferences: Color Theme');
      await page.locator('.quick-input-widget .quick-input-box input').fill(name);
      await waitUntil(page, async () => ((await quickInputState(page)).items.some((i) => i.includes(name)) ? true : undefined), `the theme "${name}" in the picker`);
      await page.keyboard.press('Enter');
      await waitUntil(page, async () => ((await bodyClass()).includes(bodyWants) ? true : undefined), `the dashboard in ${name} (${bodyWants})`);
    };
    await pickTheme('Dark Modern', 'vscode-dark');
    await waitUntil(page, async () => (await colouredPixels(dash, '#chart-loss') > 300 ? true : undefined), 'the loss chart redrawn in the dark theme');
    await dash.locator('#runs-card').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-run-table-dark');
    await dash.locator('#card-params').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-params-dark');
    await pickTheme('Light Modern', 'vscode-light');
  });

  it('7. Invalid kd-experiment.json: each mistake once in Problems at its line, a quick fix for a misspelt key, no run lens, a short refusal', { timeout: 120_000 }, async () => {
    // Its own experiment folder, so it also runs alone (--test-name-pattern="Invalid").
    const rel = 'exp-bad/kd-experiment.json';
    const file = writeWorkspaceFile(ws, rel, '{\n  "preset": "tiny",\n  "name": "exp-bad"\n}\n');
    await openViewContainer(page, 'LLaVA-KD'); // activates the extension when no earlier scenario did
    await waitTreeItem(page, 'exp-bad');
    await openFile(page, rel);
    const text = '{\n  "preset": "tiny",\n  "name": "exp-bad",\n  "bogusKey": 1,\n  "seed": "seven",\n  "workrs": 1\n}\n';
    await editorReplaceAll(page, text, { save: true });
    const inFile = (p: ProblemEntry[]): ProblemEntry[] => p.filter((e) => e.path.includes('exp-bad'));
    const probs = inFile(await waitProblems(page,
      (p) => ['bogusKey', 'seed must be an integer', 'workrs'].every((m) => inFile(p).some((e) => e.message.includes(m) && e.source === 'LLaVA-KD')),
      'LLaVA-KD errors for bogusKey, seed and workrs'));
    await screenshot(page, 'problems');
    // Each mistake once: no JSON-schema warning beside our error (the editor schema only describes).
    assert.equal(probs.length, 3, `three problems, one per mistake: ${JSON.stringify(probs.map((p) => `${p.source}: ${p.message}`))}`);
    assert.ok(probs.every((p) => p.source === 'LLaVA-KD' && p.severity === 'error'), JSON.stringify(probs.map((p) => [p.source, p.severity])));
    const bogus = probs.find((p) => p.message.includes('bogusKey'))!;
    const seed = probs.find((p) => p.message.includes('seed must be an integer'))!;
    const workrs = probs.find((p) => p.message.includes('workrs'))!;
    assert.equal(bogus.file, 'kd-experiment.json');
    // Unknown key: the key is underlined; wrong type: the value.
    assert.deepEqual([bogus.line, bogus.column], [4, 3], 'bogusKey at its key (line 4, column 3)');
    assert.deepEqual([seed.line, seed.column], [5, 11], 'seed at its value (line 5, column 11)');
    assert.deepEqual([workrs.line, workrs.column], [6, 3], 'workrs at its key (line 6, column 3)');
    assert.match(bogus.message, /^unknown key "bogusKey" \(expected one of the keys preset, name, seed/);
    assert.doesNotMatch(bogus.message, /found unknown key/, 'no echo of the message as "found"');
    assert.match(seed.message, /expected integer ≥ 0, found "seven" \(a string\)/);
    assert.equal(workrs.message, 'unknown key "workrs" (did you mean "workers"?)', '"did you mean" once');

    // The CodeLens over the invalid file: the problem count, no run lens.
    const lenses = page.locator('.part.editor .monaco-editor .codelens-decoration');
    const lensText = async (): Promise<string> => (await lenses.allInnerTexts()).join(' | ');
    // The lens sits above line 1: scroll the editor to the top (an edit may leave it scrolled down).
    const toTop = async (): Promise<void> => {
      await page.locator('.part.editor .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+Home');
      await page.mouse.wheel(0, -2000);
    };
    await toTop();
    await waitUntil(page, async () => (/3 problems: fix them first/.test(await lensText()) ? true : undefined), 'the CodeLens "3 problems: fix them first"');
    assert.doesNotMatch(await lensText(), /Run Full Pipeline|Run Stage/);

    // Quick fix (Ctrl+.) on the misspelt key: it becomes "workers".
    const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Change key "workrs" to "workers"' });
    // Ctrl+. goes to the editor only once the Go to Line input has handed focus back; on a busy
    // machine that can take a moment, and a press before it is lost: ask again until the menu shows.
    await waitUntil(page, async () => {
      await page.locator('.part.editor .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+G');
      await page.keyboard.type('6:5');
      await page.keyboard.press('Enter');
      await closeQuickInput(page);
      await page.keyboard.press('Control+.');
      return (await fix.first().waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => undefined));
    }, 'the quick fix "Change key "workrs" to "workers""', 45_000);
    await screenshot(page, 'quick-fix');
    await fix.first().click();
    await waitUntil(page, async () => ((await editorVisibleText(page)).includes('"workers": 1') ? true : undefined), 'the key renamed in the editor');
    await editorSave(page);
    assert.equal(fs.readFileSync(file, 'utf8'), text.replace('"workrs"', '"workers"'));
    await waitProblems(page, (p) => inFile(p).length === 2 && !inFile(p).some((e) => e.message.includes('workrs')), 'two problems left after the quick fix');
    await toTop();
    await waitUntil(page, async () => (/2 problems: fix them first/.test(await lensText()) ? true : undefined), 'the CodeLens "2 problems: fix them first"');

    // A run asked for from the palette: refused in one short line, the file named once (relative).
    await runCommand(page, 'LLaVA-KD: Run Full Pipeline');
    const picked = await waitUntil(page, async () => {
      if ((await quickInputState(page)).items.some((i) => i.includes('exp-bad'))) return 'pick';
      return (await page.locator('.notifications-toasts .notification-toast', { hasText: 'nothing was started' }).count()) ? 'toast' : undefined;
    }, 'an experiment picker or the refusal');
    if (picked === 'pick') await pickQuickItem(page, 'exp-bad');
    const toastEl = await notification(page, 'nothing was started');
    const notice = (await toastEl.locator('.notification-list-item-message').innerText()).trim();
    assert.equal(notice, 'LLaVA-KD: exp-bad/kd-experiment.json has 2 problems, so nothing was started: line 4: unknown key "bogusKey", and 1 more in Problems.');
    assert.ok(!notice.includes(ws), 'no absolute path');
    await screenshot(page, 'invalid-run-refused');
    await clearNotifications(page);

    // Fixing the file clears them, and the run lenses come back.
    await editorReplaceAll(page, '{\n  "preset": "tiny",\n  "name": "exp-bad"\n}\n', { save: true });
    await waitProblems(page, (p) => !inFile(p).length, 'no problem in exp-bad after the fix');
    await toTop();
    await waitUntil(page, async () => (/Run Full Pipeline/.test(await lensText()) ? true : undefined), 'the Run Full Pipeline lens back');
    await closeQuickInput(page);
    // Error notifications are echoed to the console: the SIGKILL failure of 8a and the refusal above are expected.
    const unexpected = (await extensionErrors(s, LLAVA_KD))
      .filter((e) => !/^console: LLaVA-KD: .*, resumed \(.*\) failed \(killed by SIGKILL\)$/.test(e))
      .filter((e) => !e.includes('so nothing was started'))
      // The image 8c deleted fails to load in the samples webview.
      .filter((e) => !e.includes(path.basename(deletedImage)));
    assert.deepEqual(unexpected, [], 'no errors from the extension (console, its log, the extension host log)');
  });

  it('10. Name, tag, note and delete a run', { timeout: 120_000 }, async () => {
    // The DFT run of scenario 5: no scenario after this one uses it.
    assert.ok(runs.dft && runs.first, 'needs the runs of scenarios 1 and 5');
    const dir = runs.dft;
    const id = path.basename(dir);
    const metaFile = path.join(dir, 'run-meta.json');
    await clearToasts(page);
    // A dashboard showing it and another run: the deleted run leaves it.
    await runCommand(page, 'LLaVA-KD: Open Dashboard');
    await pickMany(page, [path.basename(runs.first), id]);
    const dash = await webviewFrame(page, TITLES.dashboard);
    await waitDebug<DashDebug>(page, dash, (x) => x.state === 'ready' && x.runs?.length === 2, 'the dashboard with the two runs');

    await collapseTree(page);
    await expandTreeItem(page, 'exp-a, ');
    await contextMenu(page, await waitTreeItem(page, `${id}, completed`), 'Rename Run…');
    await answerQuickInput(page, 'gamma 0.25 dft', { expectPrompt: `Name shown for run ${id}` });
    const named = await waitTreeItem(page, 'gamma 0.25 dft, completed');
    // The file watcher refreshes the tree again a moment later: a menu opened on a row being
    // re-rendered runs its command without the row (then it asks for a run). Let it land first.
    await sleep(1500);
    assert.deepEqual(JSON.parse(fs.readFileSync(metaFile, 'utf8')), { name: 'gamma 0.25 dft' });

    await contextMenu(page, named, 'Edit Run Tags…');
    const input = await waitVisible(page, page.locator('.quick-input-widget .quick-input-box input'), 'the tags input');
    // Typed before the extension's input box is wired up, a value goes unvalidated: wait for its prompt.
    await waitUntil(page, async () => ((await quickInputState(page)).message.includes(`Tags of run ${id}, separated by commas`) ? true : undefined), 'the tags prompt');
    await input.fill('dft,,bad tag');
    await waitUntil(page, async () => ((await quickInputState(page)).message.includes('empty tag') ? true : undefined), 'the empty-tag validation message');
    await input.fill('dft, bad tag');
    await waitUntil(page, async () => ((await quickInputState(page)).message.includes('may hold only letters, digits') ? true : undefined), 'the bad-character validation message');
    await input.press('Enter');
    assert.equal((await quickInputState(page)).visible, true, 'an invalid value is not accepted');
    await answerQuickInput(page, 'dft, g:0.25');
    const tagged = await waitTreeItem(page, 'gamma 0.25 dft, #dft #g:0.25 · completed');
    await sleep(1500);

    await contextMenu(page, tagged, 'Edit Run Note…');
    await answerQuickInput(page, 'kept for the γ comparison', { expectPrompt: `Note on run ${id}` });
    await waitUntil(page, async () => (fs.readFileSync(metaFile, 'utf8').includes('note') ? true : undefined), 'the note in run-meta.json');
    assert.deepEqual(JSON.parse(fs.readFileSync(metaFile, 'utf8')), { name: 'gamma 0.25 dft', tags: ['dft', 'g:0.25'], note: 'kept for the γ comparison' });
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
    await screenshot(page, 'tree-named');
    await sleep(1500);

    // Delete: the modal names the run and what it holds.
    const ckpts = fs.readdirSync(path.join(dir, 'checkpoints')).length;
    await contextMenu(page, tagged, 'Delete Run…');
    const ask = await waitVisible(page, page.locator('.monaco-dialog-box'), 'the Delete confirmation');
    const text = (await ask.innerText()).replace(/\s+/g, ' ');
    assert.match(text, new RegExp(`Delete run "gamma 0\\.25 dft" \\(${id}\\)\\?`));
    assert.match(text, /completed · 1 of 1 stage done \(kd\/dft\)/);
    assert.match(text, new RegExp(`${ckpts} checkpoints?, \\d+(\\.\\d)? (B|KB|MB) on disk`));
    assert.ok(fs.existsSync(dir), 'nothing deleted before the answer');
    await screenshot(page, 'delete-confirmation');
    await ask.locator('.monaco-button', { hasText: /^Delete$/ }).first().click();
    // Where the trash is not available (code-server's file system may refuse it) a second, explicit question.
    const how = await waitUntil(page, async () => {
      if (!fs.existsSync(dir)) return 'trash';
      const again = page.locator('.monaco-dialog-box', { hasText: 'permanently?' });
      return (await again.count()) ? 'ask' : undefined;
    }, 'the folder to go, or the "Delete permanently?" question');
    console.log(`  Delete Run: ${how === 'trash' ? 'moved to the trash' : 'trash not available, asked a second time'}`);
    if (how === 'ask') {
      const again = page.locator('.monaco-dialog-box', { hasText: 'permanently?' });
      const t2 = (await again.innerText()).replace(/\s+/g, ' ');
      assert.match(t2, new RegExp(`Delete run "gamma 0\\.25 dft" \\(${id}\\) permanently\\?`));
      assert.match(t2, /The trash is not available here/);
      assert.ok(fs.existsSync(dir), 'nothing deleted before the second answer');
      await screenshot(page, 'delete-permanently');
      await again.locator('.monaco-button', { hasText: 'Delete Permanently' }).first().click();
      await notification(page, `deleted run "gamma 0.25 dft" (${id}) permanently`);
    } else {
      await notification(page, `moved run "gamma 0.25 dft" (${id}) to the trash`);
    }
    assert.equal(fs.existsSync(dir), false, 'the run folder is gone from disk');
    await waitUntil(page, async () => ((await treeLabels(page)).some((l) => l.includes('gamma 0.25 dft') || l.startsWith(id)) ? undefined : true), 'the run to leave the tree');
    await waitTreeItem(page, `${path.basename(runs.first)}, completed`);
    await waitDebug<DashDebug>(page, dash, (x) => x.state === 'ready' && x.runs?.length === 1 && x.runs[0].runId === path.basename(runs.first!), 'the dashboard to drop the deleted run');
    assert.ok(fs.existsSync(runs.first), 'the other runs are untouched');
  });

  it('12. Sweep: Run Sweep from the palette, the local engine picked; finished notification; the tree shows the sweep, 2 groups, 4 completed runs; light and dark', { timeout: 420_000 }, async () => {
    // Its own experiment: the tiny preset with a 2 temperatures × 2 seeds sweep (4 points).
    const file = writeWorkspaceFile(ws, 'exp-sweep/kd-experiment.json', JSON.stringify({ preset: 'tiny', name: 'exp-sweep', sweep: { grid: { 'distill.temperature': [1, 2] }, seeds: 2 } }, null, 2) + '\n');
    const dir = path.dirname(file);
    await openViewContainer(page, 'LLaVA-KD'); // activates the extension when no earlier scenario did
    await clearToasts(page);
    await collapseTree(page);
    await runCommand(page, 'LLaVA-KD: Run Sweep');
    const finished = toast(page, 'Sweep sweep finished');
    const seen = { bar: new Set<string>(), tree: new Set<string>() };
    const picked: string[] = [];
    const ended = await waitUntil(page, async () => {
      // llavaKd.sweepEngine is "ask" (the default): the engine pick; exp-sweep is the only experiment with a sweep section.
      const q = await quickInputState(page);
      if (q.visible) {
        if (!/Where the sweep's points run/.test(q.placeholder)) return `an unexpected pick: ${JSON.stringify(q)}`;
        picked.push(q.items.filter((i) => i === 'local' || i === 'slurm').join(','));
        await page.locator('.quick-input-widget .quick-input-box input').fill('local');
        await page.keyboard.press('Enter');
        return undefined;
      }
      const bar = await page.locator('.part.statusbar [aria-label^="LLaVA-KD sweep"]').first().getAttribute('aria-label', { timeout: 300 }).catch(() => null);
      if (bar) seen.bar.add(bar);
      for (const l of await treeLabels(page)) if (l.startsWith('sweep, ')) seen.tree.add(l);
      return (await finished.count()) > 0 ? 'finished' : undefined;
    }, 'the "Sweep sweep finished" notification', 360_000);
    assert.equal(ended, 'finished', 'only the engine pick was asked');
    assert.equal(picked.length, 1, 'the engine was asked once');
    // sbatch is on PATH here (Debian's slurm-wlm): Slurm is offered beside local.
    if (fs.existsSync('/usr/bin/sbatch')) assert.equal(picked[0], 'local,slurm');
    console.log(`  seen while sweeping: status bar ${[...seen.bar].join(' | ')}; tree ${[...seen.tree].join(' | ')}`);
    assert.ok([...seen.bar].some((b) => /^LLaVA-KD sweep sweep: \d\/4 completed/.test(b)), `the status bar counted the points: ${[...seen.bar]}`);
    const text = (await finished.first().innerText()).replace(/\s+/g, ' ');
    assert.match(text, /LLaVA-KD: Sweep sweep finished: 4 completed\./);

    // On disk: one sweep folder, its manifest completed, four point runs completed.
    const sweeps = fs.readdirSync(path.join(dir, 'sweeps'));
    assert.equal(sweeps.length, 1);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'sweeps', sweeps[0], 'sweep.json'), 'utf8')) as { state: string; engine: string; points: { runId: string; state: string }[] };
    assert.deepEqual([m.state, m.engine, m.points.map((p) => p.state)], ['completed', 'local', ['completed', 'completed', 'completed', 'completed']]);
    assert.deepEqual(runDirs(dir).map((d) => readStatus(d).state), ['completed', 'completed', 'completed', 'completed']);

    // Its Open Dashboard shows the sweep's four runs.
    await clickToastButton(page, 'Open Dashboard', 'Sweep sweep finished');
    const dash = await webviewFrame(page, TITLES.dashboard);
    const d = await waitDebug<DashDebug>(page, dash, (x) => x.state === 'ready' && x.runs?.length === 4, 'the dashboard on the sweep\'s four runs');
    assert.deepEqual(d.runs.map((r) => r.runId).sort(), m.points.map((p) => p.runId).sort());

    // The tree: exp-sweep -> the sweep -> 2 groups -> 2 completed runs each, and no run again in the flat list.
    await collapseTree(page);
    await expandTreeItem(page, 'exp-sweep, ');
    const sweepRow = await expandTreeItem(page, 'sweep, 4/4 completed · local');
    assert.equal(await sweepRow.getAttribute('aria-level'), '2');
    const rows = async () => (await page.locator('.part.sidebar [role="treeitem"]').evaluateAll((els) => els.map((e) => [e.getAttribute('aria-label') ?? '', e.getAttribute('aria-level') ?? '', e.getAttribute('aria-expanded') ?? ''])))
      .filter(([l]) => m.points.some((_, i) => l.startsWith(`p00${i}, `)));
    // A refresh of the tree (sweep.json's last save) can land between the two expansions: expand until both groups show their points.
    const pointRows = await waitUntil(page, async () => {
      for (const t of [1, 2]) {
        const g = treeItem(page, `distill.temperature=${t}, 2 seeds · 2/2 completed`).first();
        if ((await g.getAttribute('aria-expanded')) !== 'true') await expandTreeItem(page, `distill.temperature=${t}, 2 seeds · 2/2 completed`);
      }
      const r = await rows();
      return r.length === 4 ? r : undefined;
    }, 'the four point rows under their groups');
    assert.equal(pointRows.length, 4, `four point rows: ${JSON.stringify(pointRows)}`);
    for (const [label, level] of pointRows) {
      assert.equal(level, '4', `${label}: under its group, not in the experiment's run list`);
      assert.match(label, /, seed [01] · [\dms ]+ · completed/);
    }
    await screenshot(page, 'tree-sweep-light');
    await page.locator('.part.sidebar').screenshot({ path: path.join(SCREENSHOT_DIR, 'tree-sweep-light-sidebar.png') });

    // A point's stdout from its context menu.
    await contextMenu(page, treeItem(page, 'p000, seed 0').first(), 'Open Point Output');
    await waitVisible(page, editorTab(page, 'p000.out'), 'the editor tab of p000.out');

    // The same tree in a dark theme, then back.
    const pickTheme = async (name: string, cls: string): Promise<void> => {
      await runCommand(page, 'Preferences: Color Theme');
      await page.locator('.quick-input-widget .quick-input-box input').fill(name);
      await waitUntil(page, async () => ((await quickInputState(page)).items.some((i) => i.includes(name)) ? true : undefined), `the theme "${name}" in the picker`);
      await page.keyboard.press('Enter');
      await waitVisible(page, page.locator(`.monaco-workbench.${cls}`), `the workbench in ${name}`);
    };
    await pickTheme('Dark Modern', 'vs-dark');
    await sleep(500);
    await screenshot(page, 'tree-sweep-dark');
    await page.locator('.part.sidebar').screenshot({ path: path.join(SCREENSHOT_DIR, 'tree-sweep-dark-sidebar.png') });
    await pickTheme('Light Modern', 'vs');

    assert.deepEqual((await extensionErrors(s, LLAVA_KD)).filter((e) => /sweep/i.test(e)), [], 'no sweep errors from the extension');
  });
});
