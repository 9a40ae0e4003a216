/**
 * Fuzz of the webview message and panel-state validators (src/common/messages.ts): 20 000
 * generated messages per panel (valid templates with fields dropped, added, retyped, with
 * prototype keys, huge strings, non-finite and out-of-range numbers; and random JSON values) and
 * 5 000 panel states. Neither validator throws, and whatever they accept (the message as sent,
 * and the value returned) passes an independent checker of the message spec, and parses again
 * to itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EDITABLE_STAGE_KINDS, parsePanelState, parseWebviewMessage, WEBVIEW_COMMANDS, type PanelKind } from '../src/common/messages';
import { mulberry32 } from '../src/common/random';

const rnd = mulberry32(2026);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const weird: unknown[] = [null, undefined, 0, -1, 1e309, -1e309, NaN, 0.5, 2, 1e-9, 1001, '', 'x', 'a'.repeat(5000), 'a'.repeat(25000), [], ['a'], {}, { a: 1 }, true, false, '../../etc/passwd', 'ready', 'lr', 'sft', 'dft', 'pt'];

/** A fresh copy of one of the odd values (never shared: mutations must not build cycles). */
const oddValue = (): unknown => structuredClone(pick(weird));

function randomJson(depth = 0): unknown {
  const r = rnd();
  if (depth > 2 || r < 0.5) return oddValue();
  if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 3) }, () => randomJson(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) o[pick(['type', 'key', 'path', 'values', 'lr', 'stage', 'command', 'message', 'level', 'left', 'right', 'x', '__proto__', 'constructor'])] = randomJson(depth + 1);
  return o;
}

const templates = (): Record<string, unknown>[] => [
  { type: 'ready' },
  { type: 'addRuns' },
  { type: 'command', command: pick(WEBVIEW_COMMANDS), ...(rnd() < 0.5 ? { key: '/ws/exp/runs/r1' } : {}) },
  { type: 'removeRun', key: '/ws/exp/runs/r1' },
  { type: 'openFile', path: '/ws/exp/runs/r1/log.txt' },
  { type: 'openDiff', left: '/a/kd-experiment.json', right: '/b/kd-experiment.json' },
  { type: 'log', level: pick(['info', 'warn', 'error']), message: 'hello' },
  { type: 'editHyper', experimentFile: '/ws/exp/kd-experiment.json', stage: pick(EDITABLE_STAGE_KINDS), values: { lr: 1e-3, ce: 1, res: 0.5 } },
];

function mutate(m: Record<string, unknown>): unknown {
  const o: Record<string, unknown> = structuredClone(m);
  const ops = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < ops; i++) {
    const keys = Object.keys(o);
    const r = rnd();
    if (r < 0.25 && keys.length) delete o[pick(keys)];
    else if (r < 0.5 && keys.length) o[pick(keys)] = randomJson();
    else if (r < 0.6) Object.defineProperty(o, '__proto__', { value: { polluted: 1 }, enumerable: true, configurable: true, writable: true });
    else if (r < 0.75) o[pick(['extra', 'path', 'key', 'values', 'constructor'])] = randomJson();
    else if (r < 0.9 && o.values && typeof o.values === 'object') (o.values as Record<string, unknown>)[pick(['lr', 'ce', 'res', 'vis', 'rel', 'x'])] = oddValue();
    else o.type = pick(['ready', 'command', 'addRuns', 'removeRun', 'editHyper', 'openDiff', 'openFile', 'log', 'nope', 7]);
  }
  return o;
}

const ALLOWED: Record<PanelKind, string[]> = {
  dashboard: ['ready', 'command', 'addRuns', 'removeRun', 'editHyper', 'openFile', 'log'],
  samples: ['ready', 'command', 'addRuns', 'removeRun', 'openFile', 'log'],
  configDiff: ['ready', 'command', 'addRuns', 'removeRun', 'openDiff', 'openFile', 'log'],
};
const str = (x: unknown, max = 4096) => typeof x === 'string' && x.length > 0 && x.length <= max;
const keysOk = (o: Record<string, unknown>, required: string[], optional: string[] = []) =>
  required.every((k) => k in o) && Object.keys(o).every((k) => required.includes(k) || optional.includes(k));

/** The spec of an accepted message, written independently of the validator. */
function valid(panel: PanelKind, m: Record<string, unknown>): boolean {
  if (!ALLOWED[panel].includes(m.type as string)) return false;
  switch (m.type) {
    case 'ready': case 'addRuns': return keysOk(m, ['type']);
    case 'command': return keysOk(m, ['type', 'command'], ['key']) && (WEBVIEW_COMMANDS as readonly string[]).includes(m.command as string) && (m.key === undefined || str(m.key));
    case 'removeRun': return keysOk(m, ['type', 'key']) && str(m.key);
    case 'openFile': return keysOk(m, ['type', 'path']) && str(m.path);
    case 'openDiff': return keysOk(m, ['type', 'left', 'right']) && str(m.left) && str(m.right) && m.left !== m.right;
    case 'log': return keysOk(m, ['type', 'level', 'message']) && ['info', 'warn', 'error'].includes(m.level as string) && typeof m.message === 'string' && (m.message as string).length <= 20000;
    case 'editHyper': {
      const v = m.values as Record<string, unknown>;
      if (!keysOk(m, ['type', 'experimentFile', 'stage', 'values']) || !str(m.experimentFile) || !(EDITABLE_STAGE_KINDS as readonly string[]).includes(m.stage as string)) return false;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
      // A field holding undefined counts as absent (structured clone carries undefined).
      const given = Object.entries(v).filter(([, n]) => n !== undefined);
      if (!given.length || !Object.keys(v).every((k) => ['lr', 'ce', 'res', 'vis', 'rel'].includes(k))) return false;
      return given.every(([k, n]) => typeof n === 'number' && Number.isFinite(n) && (k === 'lr' ? n > 0 && n <= 1 : ['ce', 'res', 'vis', 'rel'].includes(k) && n >= 0 && n <= 1000));
    }
    default: return false;
  }
}

test('parseWebviewMessage: 20 000 generated messages per panel, no throw, every accepted one valid by the spec and stable', () => {
  const counts: Record<string, number> = {};
  for (const panel of ['dashboard', 'samples', 'configDiff'] as const) {
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const m = rnd() < 0.2 ? randomJson() : rnd() < 0.15 ? pick(templates()) : mutate(pick(templates()));
      let r: ReturnType<typeof parseWebviewMessage>;
      assert.doesNotThrow(() => { r = parseWebviewMessage(panel, m); }, `threw on ${JSON.stringify(m)}`);
      if (!r!.ok) {
        assert.ok(typeof r!.error === 'string' && r!.error.length > 0);
        continue;
      }
      accepted++;
      const v = r!.value as unknown as Record<string, unknown>;
      assert.ok(typeof m === "object" && m !== null && valid(panel, m as Record<string, unknown>), `accepted an invalid message: ${JSON.stringify(m)}`);
      assert.ok(valid(panel, v) && Object.getPrototypeOf(v) === Object.prototype, `accepted value invalid by the spec: ${JSON.stringify(v)}`);
      const again = parseWebviewMessage(panel, JSON.parse(JSON.stringify(v)));
      assert.ok(again.ok && JSON.stringify(again.value) === JSON.stringify(v), 'an accepted value parses to itself');
    }
    counts[panel] = accepted;
    assert.ok(accepted > 500 && accepted < 19000, `${panel}: ${accepted} accepted (the generator must exercise both sides)`);
  }
});

test('parsePanelState: 5 000 generated states, no throw; accepted ones are { sources: non-empty strings, ui?: object } only', () => {
  for (let i = 0; i < 5000; i++) {
    const base: Record<string, unknown> = { sources: ['/ws/exp/runs/r1', '/ws/exp/runs/r2'].slice(0, Math.floor(rnd() * 3)), ...(rnd() < 0.5 ? { ui: { smoothing: 0.6 } } : {}) };
    const x = rnd() < 0.3 ? randomJson() : mutate(base);
    let r: ReturnType<typeof parsePanelState>;
    assert.doesNotThrow(() => { r = parsePanelState(x); });
    if (!r!.ok) continue;
    const v = r!.value as unknown as Record<string, unknown>;
    assert.ok(keysOk(v, ['sources'], ['ui']), JSON.stringify(v));
    assert.ok(Array.isArray(v.sources) && (v.sources as unknown[]).every((s) => str(s)), JSON.stringify(v));
    assert.ok(v.ui === undefined || (typeof v.ui === 'object' && v.ui !== null && !Array.isArray(v.ui)));
  }
});
