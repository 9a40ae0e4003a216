/**
 * The HTML shell of every webview panel: strict CSP (nonce-only scripts, resources only from the
 * webview's own origin), the app bundle, its css, codicons and the hidden debug-state element.
 * Pure (no vscode), unit-tested in test/host-webviewHtml.test.ts.
 */
import { randomBytes } from 'node:crypto';

export interface ShellOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  title: string;
  /** webview URIs (strings) of the app script, its stylesheets and codicon.css. */
  scriptUri: string;
  styleUris: string[];
  codiconUri: string;
  nonce?: string;
  /** `data-panel` attribute of <body>. */
  panel: string;
}

/** 32 random base64 characters. */
export function makeNonce(): string {
  return randomBytes(24).toString('base64');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Content-Security-Policy of the panels. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function webviewShell(o: ShellOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const styles = o.styleUris.map((u) => `<link rel="stylesheet" href="${esc(u)}">`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${esc(contentSecurityPolicy(o.cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link rel="stylesheet" href="${esc(o.codiconUri)}" id="vscode-codicon-stylesheet">
    ${styles}
    <title>${esc(o.title)}</title>
  </head>
  <body data-panel="${esc(o.panel)}">
    <main id="app" aria-label="${esc(o.title)}" aria-busy="true">
      <div class="state-message" role="status"><span class="codicon codicon-loading codicon-modifier-spin"></span> Loading…</div>
    </main>
    <pre id="debug-state" hidden></pre>
    <script nonce="${nonce}" src="${esc(o.scriptUri)}"></script>
  </body>
</html>`;
}
