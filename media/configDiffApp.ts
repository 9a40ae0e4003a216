/**
 * Config-diff webview app (bundled to dist/media/configDiffApp.js): one column per run or
 * experiment, one row per flattened config key; "differences only", key search, and a button
 * opening VS Code's diff editor on two of the resolved configs.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { ConfigColumn, HostMessage } from '../src/common/messages';
import { buildRows, filterRows, formatCell, type ConfigRow } from './lib/configTable';
import { clear, codicon, h, setDebug, showCommonState, showNoRuns } from './lib/dom';
import { connect, loadState, post, saveState } from './lib/vscodeApi';
import { throttled } from './lib/throttle';

interface Ui {
  differencesOnly: boolean;
  search: string;
  left: string;
  right: string;
  [k: string]: unknown;
}

const saved = loadState();
const ui: Ui = { differencesOnly: true, search: '', left: '', right: '', ...(saved.ui as Partial<Ui>) };
let columns: ConfigColumn[] = [];
let rows: ConfigRow[] = [];
const root = document.getElementById('app')!;

function persist(): void {
  saveState({ sources: columns.map((c) => c.key), ui });
}

function colSelect(id: string, label: string, value: string, onChange: (v: string) => void): HTMLElement {
  const sel = h('vscode-single-select', { id, 'aria-label': label }) as HTMLElement & { value: string };
  for (const c of columns) sel.append(h('vscode-option', { value: c.key, selected: c.key === value }, c.label));
  sel.addEventListener('change', () => onChange(sel.value));
  return h('label', { class: 'control' }, h('span', {}, label), sel);
}

function renderAll(): void {
  clear(root);
  root.setAttribute('aria-busy', 'false');
  if (!columns.some((c) => c.key === ui.left)) ui.left = columns[0]?.key ?? '';
  if (!columns.some((c) => c.key === ui.right) || ui.right === ui.left) ui.right = columns.find((c) => c.key !== ui.left)?.key ?? '';
  const diffOnly = h('vscode-checkbox', { id: 'differences-only', label: 'Differences only', 'aria-label': 'Differences only', checked: ui.differencesOnly }) as HTMLElement & { checked: boolean };
  diffOnly.addEventListener('change', () => {
    ui.differencesOnly = diffOnly.checked;
    persist();
    scheduleTable();
  });
  const search = h('vscode-textfield', { id: 'key-search', placeholder: 'Search keys and values', 'aria-label': 'Search keys', value: ui.search }) as HTMLElement & { value: string };
  search.append(h('span', { slot: 'content-before', class: 'codicon codicon-search' }));
  search.addEventListener('input', () => {
    ui.search = search.value;
    persist();
    scheduleTable();
  });
  const diffBtn = h('vscode-button', { id: 'open-diff', icon: 'diff', 'aria-label': 'Open in Diff Editor', disabled: columns.length < 2 }, 'Open in Diff Editor');
  diffBtn.addEventListener('click', () => {
    if (ui.left && ui.right && ui.left !== ui.right) post({ type: 'openDiff', left: ui.left, right: ui.right });
  });
  const add = h('vscode-button', { secondary: true, icon: 'add', 'aria-label': 'Add Run or Experiment…' }, 'Add…');
  add.addEventListener('click', () => post({ type: 'addRuns' }));
  root.append(
    h('header', { class: 'toolbar' }, h('h1', {}, 'LLaVA-KD Config Diff'), add),
    h('section', { class: 'controls', 'aria-label': 'Diff controls' },
      diffOnly, h('label', { class: 'control grow' }, search),
      colSelect('diff-left', 'Left', ui.left, (v) => { ui.left = v; persist(); }),
      colSelect('diff-right', 'Right', ui.right, (v) => { ui.right = v; persist(); }),
      diffBtn,
      h('span', { id: 'row-count', class: 'muted', role: 'status' })),
    h('div', { class: 'table-wrap' }, h('table', { id: 'config-table', class: 'config-table', 'aria-label': 'Config comparison' })),
  );
  renderTable();
}

/** Re-renders the table 60 ms after the last of a burst of filter keystrokes. */
const scheduleTable = throttled(() => renderTable(), { delayMs: 60 });

function renderTable(): void {
  const table = document.getElementById('config-table');
  if (!table) return;
  clear(table);
  const shown = filterRows(rows, ui.differencesOnly, ui.search);
  const head = h('tr', {}, h('th', { scope: 'col' }, 'key'));
  for (const c of columns) {
    head.append(h('th', { scope: 'col', title: c.path },
      h('div', { class: 'col-head' },
        codicon(c.kind === 'run' ? 'history' : 'beaker'), ' ', h('span', {}, c.label),
        h('button', { class: 'icon-button', 'aria-label': `Remove ${c.label}`, onclick: () => post({ type: 'removeRun', key: c.key }) }, codicon('close'))),
      c.error ? h('div', { class: 'error-text', role: 'alert' }, codicon('warning'), ` ${c.error}`) : null));
  }
  table.append(h('thead', {}, head));
  const body = h('tbody', {});
  for (const r of shown) {
    const tr = h('tr', { class: r.differs ? 'differs' : '', 'data-key': r.key }, h('th', { scope: 'row', class: 'mono key' }, r.key));
    r.values.forEach((v, i) => tr.append(h('td', { class: `mono${v === undefined ? ' missing' : ''}${r.differs && v !== r.values[0] && i > 0 ? ' changed' : ''}` }, formatCell(v))));
    body.append(tr);
  }
  table.append(body);
  if (!shown.length) {
    table.append(h('tfoot', {}, h('tr', {}, h('td', { colspan: columns.length + 1, class: 'muted' },
      rows.length && ui.differencesOnly && !rows.some((r) => r.differs) ? 'The configs are identical.' : 'No key matches the search.'))));
  }
  const count = document.getElementById('row-count');
  const differing = rows.filter((r) => r.differs).length;
  if (count) count.textContent = `${shown.length} of ${rows.length} keys shown · ${differing} differ`;
  setDebug('ready', { columns: columns.map((c) => c.label), rows: rows.length, shownRows: shown.length, differing, differencesOnly: ui.differencesOnly, search: ui.search });
}

function onMessage(m: HostMessage): void {
  if (showCommonState(root, m)) return;
  switch (m.type) {
    case 'configDiff/init':
      columns = m.columns;
      rows = buildRows(columns);
      persist();
      if (!columns.length) {
        showNoRuns(root, { columns: [] }, { label: 'Add…', ariaLabel: 'Add Run or Experiment…', onClick: () => post({ type: 'addRuns' }) });
        return;
      }
      renderAll();
      break;
    default:
      break;
  }
}

connect(onMessage);
