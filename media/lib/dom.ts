/**
 * Tiny DOM helpers of the webview apps: element creation, the loading / empty / error states,
 * and the hidden debug-state element that e2e tests read.
 */
import { post } from './vscodeApi';

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

/** `h('div', { class: 'x', onclick: fn }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function codicon(name: string, spin = false): HTMLElement {
  return h('span', { class: `codicon codicon-${name}${spin ? ' codicon-modifier-spin' : ''}`, 'aria-hidden': 'true' });
}

/** Writes the page state: `data-state` on <body> and the JSON in <pre id="debug-state">. */
export function setDebug(state: 'loading' | 'ready' | 'empty' | 'error', data: Record<string, unknown>): void {
  document.body.dataset.state = state;
  const pre = document.getElementById('debug-state');
  if (pre) pre.textContent = JSON.stringify({ state, ...data });
}

/** Replaces `root` with a centred state message (loading spinner, empty state with a button, error). */
export function showStateMessage(root: HTMLElement, kind: 'loading' | 'empty' | 'error', text: string, button?: { label: string; command: 'runFullPipeline' | 'newExperiment' }): void {
  clear(root);
  root.setAttribute('aria-busy', kind === 'loading' ? 'true' : 'false');
  const box = h('div', { class: `state-message state-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    kind === 'loading' ? codicon('loading', true) : codicon(kind === 'error' ? 'error' : 'info'),
    h('span', {}, ' ' + text));
  if (button) {
    const b = h('vscode-button', { 'aria-label': button.label, onclick: () => post({ type: 'command', command: button.command }) }, button.label);
    box.append(h('div', { class: 'state-actions' }, b));
  }
  root.append(box);
}

/**
 * The `loading` and `error` messages every panel handles the same way.
 * @returns true when `m` was one of them
 */
export function showCommonState(root: HTMLElement, m: { type: string; message?: string }): boolean {
  if (m.type === 'loading') {
    showStateMessage(root, 'loading', m.message ?? '');
    setDebug('loading', {});
    return true;
  }
  if (m.type === 'error') {
    showStateMessage(root, 'error', m.message ?? '', { label: 'Run Full Pipeline', command: 'runFullPipeline' });
    setDebug('error', { message: m.message });
    return true;
  }
  return false;
}

/**
 * The "no runs yet" state: a Run Full Pipeline button, plus an "add" button when the panel can
 * take runs picked by hand.
 */
export function showNoRuns(root: HTMLElement, debug: Record<string, unknown>, add?: { label: string; ariaLabel: string; onClick: () => void }): void {
  showStateMessage(root, 'empty', 'No runs yet — Run Full Pipeline', { label: 'Run Full Pipeline', command: 'runFullPipeline' });
  if (add) root.querySelector('.state-actions')?.append(h('vscode-button', { secondary: true, 'aria-label': add.ariaLabel, onclick: add.onClick }, add.label));
  setDebug('empty', debug);
}
