// Smoke scenario proving the e2e harness: builds a throwaway extension (view container, tree,
// commands, quick input, webviews with a canvas, status bar item, diagnostics), installs it as a
// packaged .vsix and as a plain folder into code-server, and drives it from chromium.
// Run: node --import tsx --test test/e2e/smoke.e2e.ts   (after `bash test/e2e/setup.sh`)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  answerQuickInput, editorReplaceAll, editorVisibleText, expandTreeItem, extensionErrors, makeTempDir, notification,
  openFile, openViewContainer, openWorkbench, pickQuickItem, runCommand, screenshot, statusBarText,
  waitProblems, waitTreeItem, waitUntil, webviewFrame, writeWorkspaceFile,
} from './harness';

const REPO = path.resolve(__dirname, '../..');

const MANIFEST = {
  name: 'e2e-smoke',
  displayName: 'E2E Smoke',
  description: 'Throwaway extension for the e2e harness smoke test.',
  publisher: 'kde2e',
  version: '0.0.1',
  license: 'MIT',
  engines: { vscode: '^1.90.0' },
  main: './extension.js',
  activationEvents: ['onStartupFinished'],
  contributes: {
    viewsContainers: { activitybar: [{ id: 'smoke', title: 'Smoke', icon: 'icon.svg' }] },
    views: { smoke: [{ id: 'smoke.tree', name: 'Smoke Items' }, { type: 'webview', id: 'smoke.panel', name: 'Smoke Panel' }] },
    commands: [
      { command: 'smoke.hello', title: 'Hello', category: 'Smoke' },
      { command: 'smoke.ask', title: 'Ask', category: 'Smoke' },
    ],
  },
};

// Plain CommonJS so no build step is needed. Canvas colour (12, 200, 34) is checked by the test.
const EXTENSION_JS = String.raw`
const vscode = require('vscode');

function html(webview, body, script) {
  const nonce = String(Math.random()).slice(2);
  return '<!DOCTYPE html><html><head><meta charset="utf-8">' +
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'nonce-' + nonce + '\'; style-src \'unsafe-inline\';">' +
    '<title>' + body.title + '</title></head><body>' + body.html +
    (script ? '<script nonce="' + nonce + '">' + script + '</script>' : '') + '</body></html>';
}

async function lint(collection) {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (!folder) return;
  const uri = vscode.Uri.joinPath(folder.uri, 'data.txt');
  let text = '';
  try { text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)); } catch { collection.delete(uri); return; }
  const diags = [];
  text.split('\n').forEach((line, i) => {
    const col = line.indexOf('BAD');
    if (col >= 0) diags.push(new vscode.Diagnostic(new vscode.Range(i, col, i, col + 3), 'Smoke: BAD at line ' + (i + 1), vscode.DiagnosticSeverity.Error));
    if (line.includes('MEH')) diags.push(new vscode.Diagnostic(new vscode.Range(i, 0, i, 3), 'Smoke: MEH', vscode.DiagnosticSeverity.Warning));
  });
  collection.set(uri, diags);
}

function activate(context) {
  const items = { alpha: [], beta: ['beta-child'] };
  context.subscriptions.push(vscode.window.registerTreeDataProvider('smoke.tree', {
    getChildren: (el) => (el ? items[el] || [] : Object.keys(items)),
    getTreeItem: (el) => new vscode.TreeItem(el, items[el] && items[el].length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None),
  }));

  context.subscriptions.push(vscode.window.registerWebviewViewProvider('smoke.panel', {
    resolveWebviewView(view) {
      view.webview.options = { enableScripts: false };
      view.webview.html = html(view.webview, { title: 'Smoke Panel', html: '<p id="msg">panel ok</p>' });
    },
  }));

  const log = vscode.window.createOutputChannel('Smoke Log', { log: true });
  context.subscriptions.push(log);
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 100);
  status.text = '$(beaker) Smoke ready';
  status.show();
  context.subscriptions.push(status);

  const diagnostics = vscode.languages.createDiagnosticCollection('smoke');
  context.subscriptions.push(diagnostics);
  lint(diagnostics);
  const watcher = vscode.workspace.createFileSystemWatcher('**/data.txt');
  watcher.onDidChange(() => lint(diagnostics));
  watcher.onDidCreate(() => lint(diagnostics));
  context.subscriptions.push(watcher, vscode.workspace.onDidSaveTextDocument(() => lint(diagnostics)));

  context.subscriptions.push(vscode.commands.registerCommand('smoke.hello', () => {
    vscode.window.showInformationMessage('Hello from Smoke');
    const panel = vscode.window.createWebviewPanel('smoke.view', 'Smoke View', vscode.ViewColumn.One, { enableScripts: true });
    panel.webview.html = html(panel.webview, { title: 'Smoke View', html: '<canvas id="c" width="40" height="20"></canvas><p id="msg">waiting</p>' },
      "const g = document.getElementById('c').getContext('2d'); g.fillStyle = 'rgb(12,200,34)'; g.fillRect(0, 0, 40, 20);" +
      "document.getElementById('msg').textContent = 'Canvas ready'; console.error('probe: a webview console error');");
    log.error('probe: an error in the extension log');
  }));

  context.subscriptions.push(vscode.commands.registerCommand('smoke.ask', async () => {
    const name = await vscode.window.showInputBox({ prompt: 'Experiment name', validateInput: (v) => (/^[a-z0-9-]+$/.test(v) ? undefined : 'lowercase letters, digits, dashes') });
    if (!name) return;
    const stage = await vscode.window.showQuickPick(['DPT', 'SFT', 'DFT'], { placeHolder: 'Training stage' });
    if (!stage) return;
    status.text = '$(beaker) Smoke ' + name + '/' + stage;
    vscode.window.showInformationMessage('Created ' + name + ' (' + stage + ')');
    const panel = vscode.window.createWebviewPanel('smoke.result', 'Smoke Result', vscode.ViewColumn.One, { enableScripts: false });
    panel.webview.html = html(panel.webview, { title: 'Smoke Result', html: '<p id="msg">' + name + '/' + stage + '</p>' });
  }));
}

module.exports = { activate, deactivate() {} };
`;

const ICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="8" fill="none" stroke="#c5c5c5" stroke-width="2"/></svg>';

function buildExtension(): string {
  const dir = makeTempDir('smoke-ext');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(MANIFEST, null, 2));
  fs.writeFileSync(path.join(dir, 'extension.js'), EXTENSION_JS);
  fs.writeFileSync(path.join(dir, 'icon.svg'), ICON_SVG);
  fs.writeFileSync(path.join(dir, 'README.md'), '# E2E Smoke\n\nThrowaway extension used by test/e2e/smoke.e2e.ts.\n');
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT\n');
  return dir;
}

function packageVsix(extDir: string): string {
  const out = path.join(extDir, 'smoke.vsix');
  const vsce = path.join(REPO, 'node_modules/.bin/vsce');
  const r = spawnSync(vsce, ['package', '--allow-missing-repository', '--skip-license', '--no-dependencies', '-o', out], {
    cwd: extDir, encoding: 'utf8', timeout: 120_000,
  });
  assert.equal(r.status, 0, `vsce package failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

function makeWorkspace(): string {
  const ws = makeTempDir('smoke-ws');
  writeWorkspaceFile(ws, 'data.txt', 'ok\nBAD line\n');
  return ws;
}

function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return fn().finally(() => console.log(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`));
}

test('smoke: packaged .vsix — tree, webview view, palette, quick input, webviews, status bar, Problems, editor', { timeout: 240_000 }, async () => {
  const extDir = buildExtension();
  const vsix = await timed('vsce package', async () => packageVsix(extDir));
  const ws = makeWorkspace();
  const s = await timed('start code-server + workbench', () => openWorkbench({ workspace: ws, vsixPath: vsix, name: 'smoke-vsix' }));
  const { page } = s;
  try {
    await timed('view container', () => openViewContainer(page, 'Smoke'));
    await timed('tree view', async () => {
      await waitTreeItem(page, 'alpha', { exact: true });
      await expandTreeItem(page, 'beta', { exact: true });
      await waitTreeItem(page, 'beta-child', { exact: true });
    });
    await timed('webview view', async () => {
      const panel = await webviewFrame(page, 'Smoke Panel'); // a webview view in the side bar
      assert.equal(await panel.locator('#msg').innerText(), 'panel ok');
    });

    await timed('command + notification + webview', async () => {
      await runCommand(page, 'Smoke: Hello');
      await notification(page, 'Hello from Smoke');
      const view = await webviewFrame(page, 'Smoke View');
      const msg = view.locator('#msg', { hasText: 'Canvas ready' });
      await msg.waitFor();
      assert.equal(await msg.innerText(), 'Canvas ready');
      const pixel = await view.locator('#c').evaluate((c) =>
        Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(5, 5, 1, 1).data));
      assert.deepEqual(pixel, [12, 200, 34, 255]);
    });

    assert.match(await statusBarText(page, 'Smoke ready'), /Smoke ready/);

    await timed('Problems', async () => {
      const probs = await waitProblems(page, (p) => p.some((e) => e.message.includes('BAD at line 2')), 'BAD at line 2');
      const bad = probs.find((e) => e.message.includes('BAD at line 2'))!;
      assert.equal(bad.severity, 'error');
      assert.equal(bad.file, 'data.txt');
      assert.equal(bad.line, 2);
      assert.equal(bad.column, 1);
    });

    await timed('quick input + second webview', async () => {
      await runCommand(page, 'Smoke: Ask');
      await answerQuickInput(page, 'exp-1', { expectPrompt: 'Experiment name' });
      await pickQuickItem(page, 'SFT');
      await notification(page, 'Created exp-1 (SFT)');
      assert.match(await statusBarText(page, 'exp-1'), /Smoke exp-1\/SFT/);
      const result = await webviewFrame(page, 'Smoke Result');
      assert.equal(await result.locator('#msg').innerText(), 'exp-1/SFT');
      // Picking by title among several webviews: back to the first one.
      const first = await webviewFrame(page, 'Smoke View');
      assert.equal(await first.locator('#msg').innerText(), 'Canvas ready');
    });

    await timed('file on disk -> diagnostics', async () => {
      writeWorkspaceFile(ws, 'data.txt', 'MEH\nfine\nfine\nx BAD\n');
      const probs = await waitProblems(page, (p) => p.some((e) => e.message.includes('BAD at line 4')), 'BAD at line 4');
      assert.deepEqual(probs.map((p) => [p.severity, p.line, p.column]).sort(), [['error', 4, 3], ['warning', 1, 1]]);
    });

    await timed('editor replace + save', async () => {
      await openFile(page, 'data.txt');
      const text = '{ "a": [1, 2],\n  "b": "BAD" }\n';
      await editorReplaceAll(page, text, { save: true });
      assert.equal(fs.readFileSync(path.join(ws, 'data.txt'), 'utf8'), text);
      assert.equal(await editorVisibleText(page), text);
      await waitProblems(page, (p) => p.length === 1 && p[0].line === 2 && p[0].column === 9, 'one BAD at line 2 column 9');
    });
    await screenshot(page, 'smoke-vsix-end');
    // Smoke: Hello planted one error in its webview's console and one in its log: extensionErrors
    // must report exactly those two, and none of the workbench's own errors.
    // (The webview logs its error each time it renders: it rendered again when shown again.)
    const probes = await waitUntil(page, async () => {
      const found = await extensionErrors(s, { id: `${MANIFEST.publisher}.${MANIFEST.name}`, mentions: /smoke/i });
      return found.some((e) => e.includes('extension log')) ? found : undefined;
    }, 'the planted errors in extensionErrors', 15_000);
    const kinds = probes.map((e) => (e === 'console: probe: a webview console error' ? 'webview'
      : /Smoke Log\.log: .*\[error\] probe: an error in the extension log$/.test(e) ? 'log' : e));
    assert.deepEqual([...new Set(kinds)].sort(), ['log', 'webview'], probes.join('\n'));
  } catch (e) {
    console.log(`code-server log: ${s.server.logFile}\nbrowser console: ${s.browser.consoleLog}`);
    throw e;
  } finally {
    await s.close();
    fs.rmSync(extDir, { recursive: true, force: true });
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test('smoke: unpacked extension folder — command from the palette', { timeout: 120_000 }, async () => {
  const extDir = buildExtension();
  const ws = makeWorkspace();
  const s = await timed('start code-server + workbench (folder)', () => openWorkbench({ workspace: ws, extensionFolder: extDir, name: 'smoke-folder' }));
  try {
    await runCommand(s.page, 'Smoke: Hello');
    await notification(s.page, 'Hello from Smoke');
    const view = await webviewFrame(s.page, 0);
    await view.locator('#msg', { hasText: 'Canvas ready' }).waitFor();
    await screenshot(s.page, 'smoke-folder-end');
  } finally {
    await s.close();
    fs.rmSync(extDir, { recursive: true, force: true });
    fs.rmSync(ws, { recursive: true, force: true });
  }
});
