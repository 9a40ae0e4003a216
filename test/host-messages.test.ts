// Tests of src/common/messages.ts: the validator accepts good webview messages and rejects bad shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePanelState, parseWebviewMessage } from '../src/common/messages';

const ok = (panel: Parameters<typeof parseWebviewMessage>[0], m: unknown): unknown => {
  const r = parseWebviewMessage(panel, m);
  assert.ok(r.ok, `expected ok: ${JSON.stringify(m)} -> ${r.ok ? '' : r.error}`);
  return r.value;
};
const bad = (panel: Parameters<typeof parseWebviewMessage>[0], m: unknown, re: RegExp): void => {
  const r = parseWebviewMessage(panel, m);
  assert.ok(!r.ok, `expected rejection of ${JSON.stringify(m)}`);
  assert.match(r.error, re);
};

test('accepts well-formed messages', () => {
  ok('dashboard', { type: 'ready' });
  ok('samples', { type: 'command', command: 'runFullPipeline' });
  ok('configDiff', { type: 'openDiff', left: '/a', right: '/b' });
  assert.deepEqual(ok('dashboard', { type: 'editHyper', experimentFile: '/e/kd-experiment.json', stage: 'dft', values: { vis: 0.5, lr: 2e-5 } }), {
    type: 'editHyper', experimentFile: '/e/kd-experiment.json', stage: 'dft', values: { vis: 0.5, lr: 2e-5 },
  });
});

test('rejects bad shapes', () => {
  bad('dashboard', null, /not an object/);
  bad('dashboard', [], /not an object/);
  bad('dashboard', { type: 7 }, /type/);
  bad('dashboard', { type: 'nuke' }, /not accepted/);
  bad('dashboard', { type: 'ready', extra: 1 }, /unexpected field 'extra'/);
  bad('dashboard', { type: 'command', command: 'rm -rf' }, /command/);
  bad('dashboard', { type: 'removeRun', key: '' }, /key/);
  bad('configDiff', { type: 'openDiff', left: '/a', right: '/a' }, /differ/);
  bad('dashboard', { type: 'log', level: 'debug', message: 'x' }, /level/);
});

test('rejects bad hyper-parameter values', () => {
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'xyz', values: { vis: 1 } }, /stage/);
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: { vis: -1 } }, /values.vis/);
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: { lr: 0 } }, /values.lr/);
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: { vis: '1' } }, /finite number/);
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: { alpha: 1 } }, /unexpected field 'alpha'/);
  bad('dashboard', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: {} }, /no value/);
});

test('a panel may only send its own message types', () => {
  bad('samples', { type: 'editHyper', experimentFile: '/e', stage: 'dft', values: { vis: 1 } }, /not accepted from the samples panel/);
  bad('dashboard', { type: 'openDiff', left: '/a', right: '/b' }, /not accepted/);
});

test('panel state', () => {
  assert.deepEqual(parsePanelState({ sources: ['/r1'], ui: { smoothing: 0.6 } }), { ok: true, value: { sources: ['/r1'], ui: { smoothing: 0.6 } } });
  assert.equal(parsePanelState({ sources: [1] }).ok, false);
  assert.equal(parsePanelState(undefined).ok, false);
});

test('export messages: a file name without folders, the format the data really has', () => {
  ok('dashboard', { type: 'export', format: 'csv', name: 'run-table.csv', data: 'a,b\n1,2\n' });
  ok('dashboard', { type: 'export', format: 'png', name: 'loss.png', data: 'data:image/png;base64,iVBORw0KGgo=' });
  ok('dashboard', { type: 'export', format: 'svg', name: 'loss.svg', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' });
  bad('dashboard', { type: 'export', format: 'csv', name: '../../etc/passwd', data: 'x' }, /name/);
  bad('dashboard', { type: 'export', format: 'csv', name: 'a/b.csv', data: 'x' }, /name/);
  bad('dashboard', { type: 'export', format: 'exe', name: 'a', data: 'x' }, /format/);
  bad('dashboard', { type: 'export', format: 'png', name: 'a.png', data: 'data:text/html;base64,PGgxPg==' }, /png/);
  bad('dashboard', { type: 'export', format: 'svg', name: 'a.svg', data: '<script>' }, /svg/);
  bad('dashboard', { type: 'export', format: 'csv', name: 'a.csv', data: '' }, /data/);
  bad('samples', { type: 'export', format: 'csv', name: 'a.csv', data: 'x' }, /not accepted from the samples panel/);
});
