// Tests of src/views/webviewHtml.ts: the CSP and the shell of the webview panels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, makeNonce, webviewShell } from '../src/views/webviewHtml';

test('strict CSP', () => {
  assert.equal(
    contentSecurityPolicy('vscode-webview://abc', 'N0NCE'),
    "default-src 'none'; img-src vscode-webview://abc data:; style-src vscode-webview://abc 'unsafe-inline'; script-src 'nonce-N0NCE'; font-src vscode-webview://abc",
  );
});

test('shell loads only the nonce script and escapes the title', () => {
  const html = webviewShell({ cspSource: 'src:', title: 'A <b>', scriptUri: 'src:/app.js', styleUris: ['src:/a.css'], codiconUri: 'src:/codicon.css', nonce: 'xyz', panel: 'dashboard' });
  assert.match(html, /<script nonce="xyz" src="src:\/app.js"><\/script>/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.match(html, /<title>A &lt;b&gt;<\/title>/);
  assert.match(html, /<pre id="debug-state" hidden><\/pre>/);
  assert.notEqual(makeNonce(), makeNonce());
});
