// End-to-end harness: starts code-server (VS Code in a browser, Node 24) with a fresh profile and
// the extension under test, drives Debian's chromium through playwright-core, and offers page
// helpers for the workbench (palette, quick input, views, trees, webviews, notifications, status
// bar, Problems, editors). Prerequisites come from `bash test/e2e/setup.sh`; see test/e2e/README.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const E2E_DIR = __dirname;
export const SCREENSHOT_DIR = path.join(E2E_DIR, 'screenshots');
export const LOG_DIR = path.join(E2E_DIR, 'logs');
export const CODE_SERVER_ENTRY = path.join(E2E_DIR, 'server/node_modules/code-server/out/node/entry.js');
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Default wait for workbench elements; raise with E2E_TIMEOUT_MS on a slow machine. */
export const DEFAULT_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 30_000);
/** Keep temp profile/workspace folders after stop() when E2E_KEEP=1 (for debugging). */
const KEEP_TEMP = process.env.E2E_KEEP === '1';

/** Settings that keep a fresh workbench quiet (no welcome page, chat, tips, update checks). */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  // Make typing into editors literal: no auto-closing, auto-indent or suggestions eating Enter.
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoClosingComments': 'never',
  'editor.autoSurround': 'never',
  'editor.autoIndent': 'none',
  'editor.formatOnType': false,
  'editor.formatOnPaste': false,
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.acceptSuggestionOnEnter': 'off',
  'editor.parameterHints.enabled': false,
  'editor.wordBasedSuggestions': 'off',
  // VS Code for the web defaults to autoSave "afterDelay"; desktop VS Code (what users run) to "off".
  'files.autoSave': 'off',
  'files.insertFinalNewline': false,
  'files.trimTrailingWhitespace': false,
};

// ------------------------------------------------------------------------------------ basics

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** mkdtemp under the OS temp folder with a recognisable prefix. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `kd-e2e-${prefix}-`));
}

function removeDir(dir: string): void {
  if (!KEEP_TEMP) fs.rmSync(dir, { recursive: true, force: true });
}

/** The Node 24 binary installed by setup.sh (code-server runs only on Node 24). */
export function node24Binary(): string {
  const base = path.join(E2E_DIR, 'node24/node_modules/node/node_modules');
  const pkg = fs.existsSync(base) ? fs.readdirSync(base).find((d) => d.startsWith('node-linux-')) : undefined;
  const bin = pkg ? path.join(base, pkg, 'bin/node') : '';
  if (!bin || !fs.existsSync(bin)) {
    throw new Error(`Node 24 not found under ${base}: run \`bash test/e2e/setup.sh\` first`);
  }
  return bin;
}

function checkPrerequisites(): void {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server not installed (${CODE_SERVER_ENTRY} missing): run \`bash test/e2e/setup.sh\``);
  }
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: run \`bash test/e2e/setup.sh\` (or set E2E_CHROMIUM)`);
  }
}

/** Environment for code-server: no VS Code terminal hooks (they would redirect its CLI), no tsx. */
function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'NODE_OPTIONS') continue;
    if (k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  return { ...env, EXTENSIONS_GALLERY: '{}', ...extra };
}

function baseServerArgs(dirs: { config: string; userDataDir: string; extensionsDir: string }): string[] {
  return [
    CODE_SERVER_ENTRY,
    '--config', dirs.config,
    '--user-data-dir', dirs.userDataDir,
    '--extensions-dir', dirs.extensionsDir,
  ];
}

// ------------------------------------------------------------------------------ code-server

export interface StartCodeServerOptions {
  /** Folder opened in the workbench (a local folder: tests may write files into it directly). */
  workspace: string;
  /** A packaged extension, installed with `--install-extension` (the stronger test). */
  vsixPath?: string;
  /** An unpacked extension folder (with package.json), copied in as `<publisher>.<name>-<version>`. */
  extensionFolder?: string;
  /** Symlink extensionFolder instead of copying it (fast, but node_modules must resolve from there). */
  linkFolder?: boolean;
  /** Extra user settings merged over QUIET_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Extra environment variables for code-server and the extension host. */
  env?: Record<string, string>;
  /** Name used for the log files (default `code-server`). */
  name?: string;
}

export interface CodeServer {
  /** Workbench URL with the workspace folder selected. */
  url: string;
  port: number;
  pid: number;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  /** code-server stdout+stderr. */
  logFile: string;
  /** Folder the VS Code logs (exthost.log, ...) are copied to by stop(). */
  vscodeLogDir: string;
  /** Stops the whole process group, copies VS Code's logs, removes the temp profile. */
  stop(): Promise<void>;
}

function readManifest(folder: string): { publisher: string; name: string; version: string } {
  const file = path.join(folder, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of ['publisher', 'name', 'version']) {
    if (typeof pkg[key] !== 'string') throw new Error(`${file}: field "${key}" must be a string`);
  }
  return pkg as { publisher: string; name: string; version: string };
}

/**
 * Starts code-server on a free port with a fresh user-data-dir and extensions dir, after
 * installing the extension under test (vsixPath and/or extensionFolder). Resolves once the
 * HTTP server listens (well under a second); the workbench itself loads on first `goto`.
 */
export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  checkPrerequisites();
  if (!fs.existsSync(opts.workspace)) throw new Error(`startCodeServer: workspace ${opts.workspace} does not exist`);
  const node = node24Binary();
  const root = makeTempDir('profile');
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  const config = path.join(root, 'config.yaml');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(config, '');
  fs.writeFileSync(
    path.join(userDataDir, 'User/settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2),
  );
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const name = `${opts.name ?? 'code-server'}-${stamp()}`;
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const vscodeLogDir = path.join(LOG_DIR, `${name}-vscode-logs`);
  const env = serverEnv(opts.env);
  const dirs = { config, userDataDir, extensionsDir };

  if (opts.vsixPath) {
    if (!fs.existsSync(opts.vsixPath)) throw new Error(`startCodeServer: vsixPath ${opts.vsixPath} does not exist`);
    const r = spawnSync(node, [...baseServerArgs(dirs), '--install-extension', path.resolve(opts.vsixPath)], {
      env, encoding: 'utf8', timeout: 120_000,
    });
    fs.appendFileSync(logFile, `$ --install-extension ${opts.vsixPath}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`);
    if (r.status !== 0 || !/successfully installed/i.test(r.stdout ?? '')) {
      throw new Error(`Installing ${opts.vsixPath} failed (exit ${r.status}); see ${logFile}:\n${r.stdout}${r.stderr}`);
    }
  }
  if (opts.extensionFolder) {
    const m = readManifest(opts.extensionFolder);
    const target = path.join(extensionsDir, `${m.publisher}.${m.name}-${m.version}`);
    if (opts.linkFolder) fs.symlinkSync(path.resolve(opts.extensionFolder), target, 'dir');
    else fs.cpSync(opts.extensionFolder, target, { recursive: true, dereference: true });
  }

  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    node,
    [
      ...baseServerArgs(dirs),
      '--bind-addr', '127.0.0.1:0',
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--disable-proxy',
      '--ignore-last-opened',
      opts.workspace,
    ],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`code-server did not start (spawn ${node} failed); see ${logFile}`);
  const exitGuard = (): void => killGroup(pid, 'SIGKILL');
  process.on('exit', exitGuard);
  liveGroups.add(pid);
  installSignalGuard();

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(
        () => reject(new Error(`code-server printed no "HTTP server listening" line in 30 s; see ${logFile}`)),
        30_000,
      );
      const onData = (chunk: Buffer): void => {
        fs.writeSync(out, chunk);
        seen += chunk.toString();
        const m = /HTTP server listening on https?:\/\/[^:\s]+:(\d+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited early (code ${code}, signal ${signal}); see ${logFile}:\n${tail(seen)}`));
      });
    });
  } catch (e) {
    killGroup(pid, 'SIGKILL');
    process.off('exit', exitGuard);
    liveGroups.delete(pid);
    throw e;
  }
  // Child output from now on goes straight to the log (bypassing the ready-check above).
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.on('data', (c: Buffer) => fs.writeSync(out, c));
  child.stderr!.on('data', (c: Buffer) => fs.writeSync(out, c));

  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(opts.workspace))}`;
  let stopped = false;
  return {
    url, port, pid, workspace: opts.workspace, userDataDir, extensionsDir, logFile, vscodeLogDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      killGroup(pid, 'SIGTERM');
      const deadline = Date.now() + 5_000;
      while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
      if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
      process.off('exit', exitGuard);
      liveGroups.delete(pid);
      try {
        fs.closeSync(out);
      } catch { /* already closed */ }
      const logs = path.join(userDataDir, 'logs');
      if (fs.existsSync(logs)) fs.cpSync(logs, vscodeLogDir, { recursive: true });
      removeDir(root);
    },
  };
}

/** Process groups of running code-servers; killed on Ctrl+C / SIGTERM (they are detached). */
const liveGroups = new Set<number>();
let signalGuardInstalled = false;

function installSignalGuard(): void {
  if (signalGuardInstalled) return;
  signalGuardInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch { /* group already gone */ }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(text: string, lines = 20): string {
  return text.split('\n').slice(-lines).join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------- browser

/** One browser console error or uncaught page error. */
export interface ConsoleError {
  text: string;
  /** URL of the script it came from ('' when the browser gives none, as for console calls in webviews). */
  url: string;
  /** URL of the document whose console it went to (filled in asynchronously; see `settled`). */
  frameUrl: string;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Browser console errors and page errors, with the URL of the script that raised them (all also written to consoleLog). */
  consoleErrors: ConsoleError[];
  /** Resolves once every `frameUrl` so far is known. */
  settled(): Promise<void>;
  consoleLog: string;
  close(): Promise<void>;
}

/** Headless Debian chromium, persistent context in a fresh temp dir, viewport 1400x900. */
export async function launchBrowser(opts: { name?: string; headless?: boolean } = {}): Promise<Browser> {
  checkPrerequisites();
  const dir = makeTempDir('chromium');
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  context.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const consoleLog = path.join(LOG_DIR, `${opts.name ?? 'browser'}-${stamp()}.console.log`);
  const consoleErrors: ConsoleError[] = [];
  const record = (line: string): void => {
    fs.appendFileSync(consoleLog, line + '\n');
  };
  const pending: Promise<void>[] = [];
  page.on('console', (m) => {
    const url = m.location().url ?? '';
    record(`[${m.type()}] ${m.text()}${url ? `  (${url})` : ''}`);
    if (m.type() !== 'error') return;
    const entry: ConsoleError = { text: m.text(), url, frameUrl: '' };
    consoleErrors.push(entry);
    // A console argument lives in the document that logged it: ask it for its address.
    const arg = m.args()[0];
    if (arg) {
      pending.push(arg.evaluate(() => location.href).then((u) => {
        entry.frameUrl = u;
        record(`[frame of the error above] ${u}`);
      }, (e: Error) => record(`[frame of the error above unknown] ${e.message}`)));
    }
  });
  page.on('pageerror', (e) => {
    const url = /\(?(https?:\/\/[^\s)]+)/.exec(e.stack ?? '')?.[1] ?? '';
    record(`[pageerror] ${e.message}${url ? `  (${url})` : ''}`);
    consoleErrors.push({ text: e.message, url, frameUrl: url });
  });
  return {
    context, page, consoleErrors, consoleLog,
    async settled() {
      await Promise.all(pending);
    },
    async close() {
      await context.close().catch(() => undefined);
      removeDir(dir);
    },
  };
}

/** A code-server plus a browser showing its workbench, ready for a scenario. */
export interface Session {
  server: CodeServer;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** startCodeServer + launchBrowser + goto + waitForWorkbench; on failure cleans up what started. */
export async function openWorkbench(opts: StartCodeServerOptions): Promise<Session> {
  const server = await startCodeServer(opts);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser({ name: opts.name });
    const page = browser.page;
    await page.goto(server.url);
    await waitForWorkbench(page);
    const b = browser;
    return {
      server, browser, page,
      async close() {
        await b.close();
        await server.stop();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.stop();
    throw e;
  }
}

// ------------------------------------------------------------------------- extension errors

/** Which extension an assertion on errors is about. */
export interface ExtensionUnderTest {
  /** `<publisher>.<name>`: the name of its log folder under the extension host's logs. */
  id: string;
  /** Text that marks a browser console error as the extension's (its name in notifications). */
  mentions: RegExp;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * The errors that belong to the extension under test, and only those:
 * - browser console errors logged inside its webviews (their documents carry its id) or naming
 *   it (error notifications are echoed to the console with the extension's name);
 * - `[error]` lines of the extension's own log channels (webview errors are forwarded there);
 * - `[error]` lines of the extension host's log that name its id (activation failures, unhandled
 *   rejections in its code).
 * The workbench's own errors (e.g. "Timed out waiting for authentication provider 'github'" on a
 * loaded machine, vsda 404s) are in the console log for debugging but never asserted on: they say
 * nothing about the extension and made clean-clone CI runs fail at random.
 */
export async function extensionErrors(s: Session, ext: ExtensionUnderTest): Promise<string[]> {
  const found: string[] = [];
  await s.browser.settled();
  // A webview's document is served as .../webview/browser/pre/index.html?...&extensionId=<id>&...
  const inOwnWebview = (u: string): boolean => {
    try {
      const url = new URL(u);
      return url.pathname.includes('/webview/') && url.searchParams.get('extensionId') === ext.id;
    } catch {
      return false;
    }
  };
  for (const e of s.browser.consoleErrors) {
    if (inOwnWebview(e.frameUrl) || ext.mentions.test(e.text)) found.push(`console: ${e.text}`);
  }
  const logs = path.join(s.server.userDataDir, 'logs');
  for (const file of filesUnder(logs)) {
    const own = file.split(path.sep).includes(ext.id);
    const host = /exthost\.log$/i.test(path.basename(file));
    if (!own && !host) continue;
    // One entry = a timestamped line plus the untimestamped lines after it (a stack trace).
    const entries = fs.readFileSync(file, 'utf8').split(/\n(?=\d{4}-\d\d-\d\d[ T])/);
    for (const entry of entries) {
      if (!/^\S+ \S+ \[error\]/.test(entry)) continue;
      if (own || entry.includes(ext.id)) found.push(`${path.relative(logs, file)}: ${entry.trim()}`);
    }
  }
  return found;
}

// ------------------------------------------------------------------------------ robust waits

/** Saves a full-page screenshot to test/e2e/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file });
  return file;
}

async function failureShot(page: Page, what: string): Promise<string> {
  try {
    return await screenshot(page, `FAIL-${what.slice(0, 60)}-${stamp()}`);
  } catch (e) {
    return `(no screenshot: ${(e as Error).message})`;
  }
}

/** Waits until `locator` is visible; on timeout throws naming `what` and a screenshot path. */
export async function waitVisible(page: Page, locator: Locator, what: string, timeout = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
    return locator.first();
  } catch (e) {
    const shot = await failureShot(page, what);
    throw new Error(`Timed out after ${timeout / 1000} s waiting for ${what}; screenshot: ${shot}\n${firstLine(e)}`);
  }
}

/** Waits until `locator` is hidden/detached; same error style as waitVisible. */
export async function waitHidden(page: Page, locator: Locator, what: string, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout });
  } catch (e) {
    const shot = await failureShot(page, what);
    throw new Error(`Timed out after ${timeout / 1000} s waiting for ${what} to disappear; screenshot: ${shot}\n${firstLine(e)}`);
  }
}

/** Polls `probe` until it returns a non-undefined value; on timeout throws with a screenshot path. */
export async function waitUntil<T>(
  page: Page, probe: () => Promise<T | undefined>, what: string, timeout = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  const shot = await failureShot(page, what);
  throw new Error(`Timed out after ${timeout / 1000} s waiting for ${what}; screenshot: ${shot}` +
    (last ? `\nlast error: ${firstLine(last)}` : ''));
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ------------------------------------------------------------------------------- workbench

/** Waits for the workbench (status bar drawn). Allow ~60 s for a cold first load. */
export async function waitForWorkbench(page: Page, timeout = 90_000): Promise<void> {
  await waitVisible(page, page.locator('.monaco-workbench .part.statusbar'), 'the workbench status bar', timeout);
  // The activity bar is drawn a moment after the status bar.
  await waitVisible(page, page.locator('.monaco-workbench .part.activitybar'), 'the activity bar', timeout);
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = '.quick-input-widget .quick-input-box input';

function quickRow(page: Page, label: string, exact: boolean): Locator {
  const rows = page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`);
  if (!exact) return rows.filter({ hasText: label });
  return rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) });
}

/**
 * Opens the command palette (F1) and runs the command with this exact title ("Category: Title").
 * Retries the filter while the list says "No matching commands": right after the workbench shows,
 * extension contributions may not be registered yet and the palette does not refresh by itself.
 */
export async function runCommand(page: Page, title: string, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
  await pickFromQuickOpen(page, `>${title}`, title, `the palette row "${title}"`, timeout);
}

async function pickFromQuickOpen(page: Page, query: string, label: string, what: string, timeout: number): Promise<void> {
  const input = page.locator(QUICK_INPUT_BOX);
  const row = quickRow(page, label, true);
  const deadline = Date.now() + timeout;
  await closeQuickInput(page); // a leftover (or still closing) quick input would eat the keys
  for (let attempt = 0; ; attempt++) {
    if (!(await input.isVisible())) {
      await page.keyboard.press('F1');
      await waitVisible(page, input, 'the command palette');
    }
    if (attempt > 0) await input.fill('');
    await input.fill(query);
    try {
      await row.first().waitFor({ state: 'visible', timeout: Math.min(3_000, Math.max(1, deadline - Date.now())) });
      break;
    } catch {
      if (Date.now() >= deadline) await waitVisible(page, row, what, 1); // throws with a screenshot
    }
  }
  await row.first().click();
  // Done when the palette closed or was replaced by the command's own quick input.
  await waitUntil(page, async () => {
    const s = await quickInputState(page);
    return !s.visible || s.value !== query ? true : undefined;
  }, `the quick open to close after picking "${label}"`);
}

/** Quick-input widget state: what the current prompt shows. */
export interface QuickInputState {
  visible: boolean;
  value: string;
  placeholder: string;
  /** Prompt/validation message under the box (input boxes). */
  message: string;
  /** Labels of the listed items (quick picks). */
  items: string[];
}

export async function quickInputState(page: Page): Promise<QuickInputState> {
  const widget = page.locator(QUICK_INPUT);
  const visible = await widget.isVisible();
  if (!visible) return { visible, value: '', placeholder: '', message: '', items: [] };
  const input = page.locator(QUICK_INPUT_BOX);
  return {
    visible,
    value: await input.inputValue(),
    placeholder: (await input.getAttribute('placeholder')) ?? '',
    message: (await widget.locator('.quick-input-message').innerText().catch(() => '')).trim(),
    items: (await widget.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts()).map((s) => s.trim()),
  };
}

/**
 * Types `text` into the open quick input (input box or pick filter) and presses Enter.
 * Waits until the widget closes or moves on to the next step (its value changes).
 * `expectPrompt` (substring of placeholder or message) guards against answering the wrong step.
 */
export async function answerQuickInput(page: Page, text: string, opts: { expectPrompt?: string } = {}): Promise<void> {
  const input = await waitVisible(page, page.locator(QUICK_INPUT_BOX), 'an open quick input');
  if (opts.expectPrompt) {
    const want = opts.expectPrompt;
    await waitUntil(page, async () => {
      const s = await quickInputState(page);
      return s.placeholder.includes(want) || s.message.includes(want) ? true : undefined;
    }, `a quick input prompting "${want}"`);
  }
  await input.fill(text);
  await input.press('Enter');
  await waitUntil(page, async () => {
    const s = await quickInputState(page);
    return !s.visible || s.value !== text ? true : undefined;
  }, `the quick input to accept "${text}" (still open: validation error?)`);
}

/**
 * Clicks the quick-pick item with this label (exact label; `exact: false` for a substring) and
 * waits until the pick closes or moves on to another step. `keepOpen: true` for multi-select
 * picks, where a click only toggles the item.
 */
export async function pickQuickItem(page: Page, label: string, opts: { exact?: boolean; keepOpen?: boolean } = {}): Promise<void> {
  const row = await waitVisible(page, quickRow(page, label, opts.exact ?? true), `the quick-pick item "${label}"`);
  const before = JSON.stringify(await quickInputState(page));
  await row.click();
  if (opts.keepOpen) return;
  await waitUntil(page, async () => {
    const s = await quickInputState(page);
    return !s.visible || JSON.stringify(s) !== before ? true : undefined;
  }, `the quick pick to accept "${label}"`);
}

/** Closes any open quick input with Escape. */
export async function closeQuickInput(page: Page): Promise<void> {
  if (await page.locator(QUICK_INPUT).isVisible()) {
    await page.keyboard.press('Escape');
    await waitHidden(page, page.locator(QUICK_INPUT), 'the quick input');
  }
}

/**
 * Shows a view container by its title: activity-bar entry (clicked only when not already shown,
 * since a second click hides the side bar) or, failing that, a panel tab.
 */
export async function openViewContainer(page: Page, title: string): Promise<void> {
  const entry = page.locator(`.part.activitybar .action-item a[aria-label^="${title}"], .part.activitybar .action-item[aria-label^="${title}"]`);
  const panelTab = page.locator(`.part.panel .composite-bar .action-item a[aria-label^="${title}"], .part.panel .composite-bar .action-item[aria-label^="${title}"]`);
  const target = await waitUntil(page, async () => {
    if (await entry.first().isVisible()) return entry.first();
    if (await panelTab.first().isVisible()) return panelTab.first();
    return undefined;
  }, `the view container "${title}" in the activity bar or panel`);
  const item = target.locator('xpath=ancestor-or-self::li[contains(@class,"action-item")]').first();
  const active = (await item.getAttribute('class'))?.split(/\s+/).includes('checked') ||
    (await target.getAttribute('aria-expanded')) === 'true' || (await target.getAttribute('aria-pressed')) === 'true' ||
    (await target.getAttribute('aria-selected')) === 'true';
  if (!active) await target.click();
  // The side bar / panel title reads "<container>" or, with a single view, "<container>: <view>".
  const want = title.toLowerCase();
  await waitUntil(page, async () => {
    const titles = await page.locator('.part.sidebar .composite.title h2, .part.panel .composite-bar .action-item.checked').allInnerTexts();
    return titles.some((t) => t.trim().toLowerCase().startsWith(want)) ? true : undefined;
  }, `the view container "${title}" to open`);
}

/** A tree item (role=treeitem) by accessible name; substring match unless exact. */
export function treeItem(page: Page, name: string, opts: { exact?: boolean } = {}): Locator {
  return page.getByRole('treeitem', { name, exact: opts.exact ?? false });
}

/** Waits for a tree item and returns it. */
export async function waitTreeItem(page: Page, name: string, opts: { exact?: boolean; timeout?: number } = {}): Promise<Locator> {
  return waitVisible(page, treeItem(page, name, opts), `the tree item "${name}"`, opts.timeout);
}

/** Expands a collapsed tree item (no-op when already expanded) and waits for aria-expanded=true. */
export async function expandTreeItem(page: Page, name: string, opts: { exact?: boolean } = {}): Promise<Locator> {
  const item = await waitTreeItem(page, name, opts);
  if ((await item.getAttribute('aria-expanded')) === 'false') {
    await item.locator('.monaco-tl-twistie').click();
  }
  await waitUntil(page, async () => ((await item.getAttribute('aria-expanded')) === 'true' ? true : undefined),
    `the tree item "${name}" to expand`);
  return item;
}

/** A notification toast containing `text`; waits until visible and returns it. */
export async function notification(page: Page, text: string, timeout = DEFAULT_TIMEOUT_MS): Promise<Locator> {
  return waitVisible(page, page.locator('.notifications-toasts .notification-toast', { hasText: text }),
    `a notification containing "${text}"`, timeout);
}

/** Clicks a button (e.g. "Open") on the notification containing `text`. */
export async function clickNotificationButton(page: Page, text: string, button: string): Promise<void> {
  const toast = await notification(page, text);
  await toast.locator('.monaco-button', { hasText: button }).first().click();
}

/** Closes all notifications (palette: "Notifications: Clear All Notifications"). */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
}

/** Text of the first status bar item containing `contains`; waits until it appears. */
export async function statusBarText(page: Page, contains: string, timeout = DEFAULT_TIMEOUT_MS): Promise<string> {
  const item = await waitVisible(page, page.locator('.part.statusbar .statusbar-item', { hasText: contains }),
    `a status bar item containing "${contains}"`, timeout);
  return (await item.innerText()).trim();
}

/**
 * The content frame of a webview (outer `iframe.webview` > inner `#active-frame`).
 * - number: the n-th webview iframe in the DOM (0-based), visible or not.
 * - string: an editor tab with that title is activated first and the visible webview lying over
 *   its editor group is returned; else a view pane with that title (webview view); else a visible
 *   webview whose document title contains the string.
 */
export async function webviewFrame(page: Page, titleOrIndex: string | number = 0, timeout = DEFAULT_TIMEOUT_MS): Promise<FrameLocator> {
  if (typeof titleOrIndex === 'number') {
    const outer = page.locator('iframe.webview').nth(titleOrIndex);
    await waitUntil(page, async () => ((await outer.count()) > 0 ? true : undefined), `webview #${titleOrIndex}`, timeout);
    return outer.contentFrame().frameLocator('#active-frame');
  }
  const title = titleOrIndex;
  const name = await waitUntil(page, async () => {
    const tab = editorTab(page, title).first();
    let host: Locator | undefined;
    if (await tab.isVisible()) {
      if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
      host = tab.locator('xpath=ancestor::div[contains(@class,"editor-group-container")][1]').locator('.editor-container').first();
      if ((await tab.getAttribute('aria-selected')) !== 'true') return undefined; // click not applied yet
    } else {
      const pane = page.locator('.pane', { has: page.locator(`.pane-header[aria-label*="${title}"]`) }).first();
      if (await pane.isVisible()) {
        const header = pane.locator('.pane-header').first();
        if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
        host = pane.locator('.pane-body').first();
      }
    }
    const frames = page.locator('iframe.webview');
    const n = await frames.count();
    if (host) {
      const hb = await host.boundingBox();
      if (!hb) return undefined;
      for (let i = 0; i < n; i++) {
        const f = frames.nth(i);
        if (!(await f.isVisible())) continue;
        const b = await f.boundingBox();
        if (!b || b.width < 2 || b.height < 2) continue;
        const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
        if (cx >= hb.x && cx <= hb.x + hb.width && cy >= hb.y && cy <= hb.y + hb.height) {
          return (await f.getAttribute('name')) ?? undefined;
        }
      }
      return undefined;
    }
    for (let i = 0; i < n; i++) {
      const f = frames.nth(i);
      if (!(await f.isVisible())) continue;
      const inner = f.contentFrame().locator('#active-frame').contentFrame();
      const docTitle = await inner.locator('title').textContent({ timeout: 500 }).catch(() => null);
      if (docTitle?.includes(title)) return (await f.getAttribute('name')) ?? undefined;
    }
    return undefined;
  }, `a webview titled "${title}" (editor tab, view pane or document title)`, timeout);
  return page.frameLocator(`iframe.webview[name="${name}"]`).frameLocator('#active-frame');
}

// ---------------------------------------------------------------------------------- problems

export interface ProblemEntry {
  severity: 'error' | 'warning' | 'info' | 'unknown';
  message: string;
  /** File name (label) of the resource row the marker sits under, e.g. `data.txt`. */
  file: string;
  /** Full path of that resource, as its label's aria-label gives it. */
  path: string;
  line?: number;
  column?: number;
  /** Diagnostic source and code when shown (e.g. `llava-kd`, `E001`). */
  source?: string;
  code?: string;
  /** The row's accessible label, e.g. "Error: <message> at line 2 and character 3." */
  label: string;
}

/** Opens (focuses) the Problems panel. */
export async function openProblems(page: Page): Promise<void> {
  const panel = page.locator('.part.panel .markers-panel');
  if (await panel.isVisible()) return;
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)').catch(async () => {
    await closeQuickInput(page);
    await runCommand(page, 'Problems: Focus on Problems View');
  });
  await waitVisible(page, panel, 'the Problems panel');
}

/**
 * Opens the Problems panel and reads its entries (all resources expanded, as VS Code shows them
 * by default). Rows are virtualised: with many problems only the visible ones are returned.
 */
export async function problems(page: Page): Promise<ProblemEntry[]> {
  await openProblems(page);
  const rows = page.locator('.part.panel .markers-panel .monaco-list-row');
  // No named inner functions in page callbacks: tsx (esbuild keepNames) would wrap them in a
  // `__name(...)` helper that does not exist in the page.
  const raw = await rows.evaluateAll((els) => els.map((el) => ({
    label: el.getAttribute('aria-label') ?? '',
    level: Number(el.getAttribute('aria-level') ?? '0'),
    top: parseFloat((el as HTMLElement).style.top || '0'),
    fileName: (el.querySelector('.label-name') as HTMLElement | null)?.innerText.trim() ?? '',
    filePath: el.querySelector('.monaco-icon-label')?.getAttribute('aria-label') ?? '',
    icon: el.querySelector('.marker-icon')?.className ?? '',
    message: Array.from(el.querySelectorAll('.marker-message')).map((m) => (m as HTMLElement).innerText.trim()).join('\n'),
    where: (el.querySelector('.marker-line') as HTMLElement | null)?.innerText.trim() ?? '',
    source: (el.querySelector('.marker-source') as HTMLElement | null)?.innerText.trim() ?? '',
    code: (el.querySelector('.marker-code') as HTMLElement | null)?.innerText.trim() ?? '',
  })));
  raw.sort((a, b) => a.top - b.top);
  const out: ProblemEntry[] = [];
  let file = '';
  let filePath = '';
  for (const r of raw) {
    if (r.level <= 1) {
      file = r.fileName;
      filePath = r.filePath;
      continue;
    }
    const sev = /\berror\b/.test(r.icon) ? 'error' : /\bwarning\b/.test(r.icon) ? 'warning' : /\binfo\b/.test(r.icon) ? 'info' : 'unknown';
    const pos = /Ln (\d+), Col (\d+)/.exec(r.where);
    out.push({
      severity: sev,
      message: r.message,
      file,
      path: filePath,
      line: pos ? Number(pos[1]) : undefined,
      column: pos ? Number(pos[2]) : undefined,
      source: r.source || undefined,
      code: r.code || undefined,
      label: r.label,
    });
  }
  return out;
}

/** Waits until problems(page) satisfies `pred` (diagnostics arrive asynchronously). */
export async function waitProblems(
  page: Page, pred: (p: ProblemEntry[]) => boolean, what: string, timeout = DEFAULT_TIMEOUT_MS,
): Promise<ProblemEntry[]> {
  let last: ProblemEntry[] = [];
  try {
    return await waitUntil(page, async () => {
      last = await problems(page);
      return pred(last) ? last : undefined;
    }, `Problems: ${what}`, timeout);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast entries: ${JSON.stringify(last.map((p) => p.label))}`);
  }
}

// ----------------------------------------------------------------------------------- editors

/** Writes a file into the workspace folder on disk (the simplest way to set file content). */
export function writeWorkspaceFile(workspace: string, relPath: string, content: string): string {
  const file = path.join(workspace, relPath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

/** Opens a workspace file by relative path through Quick Open and waits for its tab. */
export async function openFile(page: Page, relPath: string, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
  const base = path.basename(relPath);
  await pickFromQuickOpen(page, relPath, base, `"${relPath}" in quick open`, timeout);
  await waitVisible(page, activeEditorTab(page, base), `the editor tab "${base}"`);
}

function activeEditorTab(page: Page, label: string): Locator {
  return editorTab(page, label).and(page.locator('.tab.active'));
}

function cssString(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * An editor tab by its title (file name or webview title). Tabs of VS Code 1.139 split the
 * label into name + suffix (`data` + `.txt`), so match the tab's aria-label / resource name.
 */
export function editorTab(page: Page, title: string): Locator {
  const t = cssString(title);
  return page.locator(`.part.editor .tab[aria-label=${t}], .part.editor .tab[data-resource-name=${t}]`);
}

/** The active text editor (Monaco) in the editor area. */
function activeEditor(page: Page): Locator {
  return page.locator('.part.editor .editor-group-container.active .monaco-editor').first();
}

/** Focuses the active editor (click into its text) and types `text` at the cursor, key by key. */
export async function editorType(page: Page, text: string): Promise<void> {
  const ed = await waitVisible(page, activeEditor(page), 'an active text editor');
  await ed.locator('.view-lines').click();
  await page.keyboard.type(text);
}

/**
 * Replaces the whole content of the active editor: select all, then one insertText (a single
 * input event, so no auto-closing brackets or auto-indent are applied per key). Optionally saves.
 * Writing the file on disk (writeWorkspaceFile) is simpler when the editor need not be involved.
 */
export async function editorReplaceAll(page: Page, text: string, opts: { save?: boolean } = {}): Promise<void> {
  const ed = await waitVisible(page, activeEditor(page), 'an active text editor');
  await ed.locator('.view-lines').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
  if (opts.save) {
    await waitVisible(page, page.locator('.part.editor .tab.active.dirty'), 'the edited editor to become dirty', 5_000)
      .catch(() => undefined); // unchanged content never turns dirty
    await editorSave(page);
  }
}

/**
 * Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. Call after an
 * edit has shown up: the dirty mark is drawn asynchronously (editorReplaceAll waits for it).
 */
export async function editorSave(page: Page): Promise<void> {
  await page.keyboard.press('ControlOrMeta+S');
  await waitHidden(page, page.locator('.part.editor .tab.active.dirty'), 'the active editor to be saved');
}

/** Text of the visible lines of the active editor (Monaco renders only what is on screen). */
export async function editorVisibleText(page: Page): Promise<string> {
  const ed = await waitVisible(page, activeEditor(page), 'an active text editor');
  const lines = await ed.locator('.view-lines .view-line').evaluateAll((els) =>
    els.map((el) => ({ top: parseFloat((el as HTMLElement).style.top || '0'), text: (el.textContent ?? '').replace(/\u00a0/g, ' ') })));
  lines.sort((a, b) => a.top - b.top);
  return lines.map((l) => l.text).join('\n');
}
