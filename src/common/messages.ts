/**
 * Typed messages between the extension host and the three webview apps (dashboard, samples,
 * config diff), the state a webview persists with setState, and shape validators for everything
 * a webview can send (the host acts only on messages that pass `parseWebviewMessage`).
 * Pure: imported by the host and by the browser bundles (no node or vscode APIs).
 */
import type { EvalLine, LossTerm, RunState, SampleLine, StageId, StageKind } from './runFormat';

export type PanelKind = 'dashboard' | 'samples' | 'configDiff';

/** Titles of the panels (e2e tests look for these). */
export const PANEL_TITLES: Record<PanelKind, string> = {
  dashboard: 'LLaVA-KD Dashboard',
  samples: 'LLaVA-KD Samples',
  configDiff: 'LLaVA-KD Config Diff',
};

/** Webview panel view types (also used by the serializers and activation events). */
export const PANEL_VIEW_TYPES: Record<PanelKind, string> = {
  dashboard: 'llavaKd.dashboard',
  samples: 'llavaKd.samples',
  configDiff: 'llavaKd.configDiff',
};

/** Stage kinds whose hyper-parameters the dashboard form may edit. */
export const EDITABLE_STAGE_KINDS: readonly StageKind[] = ['vision', 'lm', 'pt', 'dpt', 'sft', 'dft'];

// ---------------------------------------------------------------------------------------------
// Payloads

/** Header facts of one run shown in a panel. `key` is the absolute run folder. */
/** Where a training is: its stage and step, the whole run's step, and the ETA (the one definition of these fields). */
export interface RunProgress {
  stage: StageId | null;
  step: number;
  totalSteps: number;
  globalStep: number;
  globalTotalSteps: number;
  etaSeconds?: number;
  /** The ETA is a rough guess (a kind of step still to run has not been timed yet). */
  etaRough?: boolean;
}

export interface RunInfo extends RunProgress {
  key: string;
  runId: string;
  experimentName: string;
  experimentFile: string;
  state: RunState;
  backend: string;
  error?: string;
  accuracy?: Record<string, number>;
  /** Status could not be read (the panel still shows what the files hold). */
  statusError?: string;
  /** MDist divergence of the run's resolved config (config.json), e.g. `forward_kl`. */
  divergence?: string;
  /** The user's annotations of the run (run-meta.json): a name shown instead of `runId`, tags, a note. */
  name?: string;
  tags?: string[];
  note?: string;
}

/**
 * Metrics of one run in columns (one entry per metrics line, in file order). `stage` indexes
 * `stages`. Loss values absent for a line (term not active in that stage) are null.
 */
export interface MetricsColumns {
  stages: StageId[];
  stage: number[];
  globalStep: number[];
  step: number[];
  /** Wall time of each row, ms since the epoch (0 when its `time` did not parse). */
  time: number[];
  lr: number[];
  samplesPerSec: number[];
  /** Trainer process memory and tensor memory, MiB (null on lines written before they were logged). */
  rssMb: (number | null)[];
  tensorMb: (number | null)[];
  total: (number | null)[];
  raw: Record<LossTerm, (number | null)[]>;
  weighted: Record<LossTerm, (number | null)[]>;
  /** Last seen weight of each term per stage id (for the formula labels). */
  weights: Record<StageId, Partial<Record<LossTerm, number>>>;
}

/** A run's resolved config (its config.json) flattened to dotted keys (`stages.dft.loss.rel`); empty when unreadable. */
export type RunConfigValues = Record<string, string | number | boolean>;

/** Effective hyper-parameters of one stage kind, as the form shows them. */
export interface StageHyper {
  kind: StageKind;
  lr: number;
  loss: { ce: number; res: number; vis: number; rel: number };
}

/** One experiment whose kd-experiment.json the dashboard form can edit. */
export interface HyperTarget {
  experimentFile: string;
  experimentName: string;
  stages: StageHyper[];
  /** Divergence of MDist (e.g. forward_kl) and its temperature, for the formula labels. */
  divergence: string;
  temperature: number;
  /** Set when the experiment file does not validate (the form still works). */
  error?: string;
}

/** A sample line plus the webview URI of its image. */
export interface SampleView extends SampleLine {
  imageUri: string;
}

/** One column of the config diff. */
export interface ConfigColumn {
  key: string;
  label: string;
  kind: 'run' | 'experiment';
  path: string;
  values: Record<string, string | number | boolean>;
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Host -> webview

export type HostMessage =
  | { type: 'loading'; message: string }
  | { type: 'error'; message: string }
  | { type: 'dashboard/init'; runs: RunInfo[]; metrics: Record<string, MetricsColumns>; evals: Record<string, EvalLine[]>; hyper: HyperTarget[]; configs: Record<string, RunConfigValues> }
  | { type: 'dashboard/append'; key: string; metrics: MetricsColumns; evals: EvalLine[] }
  | { type: 'run/status'; run: RunInfo }
  | { type: 'hyper/result'; ok: boolean; message: string; target?: HyperTarget }
  | { type: 'samples/init'; runs: RunInfo[]; samples: Record<string, SampleView[]> }
  | { type: 'samples/append'; key: string; samples: SampleView[] }
  | { type: 'configDiff/init'; columns: ConfigColumn[] };

// ---------------------------------------------------------------------------------------------
// Webview -> host

/** Commands a webview button may ask the host to run. */
export const WEBVIEW_COMMANDS = [
  'runFullPipeline',
  'startDistilledFineTuning',
  'newExperiment',
  'openDashboard',
  'showSamples',
  'compareConfigs',
  'showLog',
] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

export interface HyperValues {
  lr?: number;
  ce?: number;
  res?: number;
  vis?: number;
  rel?: number;
}

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'command'; command: WebviewCommand; key?: string }
  | { type: 'addRuns' }
  | { type: 'removeRun'; key: string }
  | { type: 'editHyper'; experimentFile: string; stage: StageKind; values: HyperValues }
  | { type: 'openDiff'; left: string; right: string }
  | { type: 'openFile'; path: string }
  | { type: 'export'; format: ExportFormat; name: string; data: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** What the dashboard exports: a chart as PNG (a base64 data URL) or SVG, a table or series as CSV (text). */
export type ExportFormat = 'png' | 'svg' | 'csv';
const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'csv'];
/** Largest export accepted from a webview (characters). */
export const MAX_EXPORT_CHARS = 32 * 1024 * 1024;

/** Message types each panel may send. */
const ALLOWED: Record<PanelKind, ReadonlySet<WebviewMessage['type']>> = {
  dashboard: new Set(['ready', 'command', 'addRuns', 'removeRun', 'editHyper', 'openFile', 'export', 'log']),
  samples: new Set(['ready', 'command', 'addRuns', 'removeRun', 'openFile', 'log']),
  configDiff: new Set(['ready', 'command', 'addRuns', 'removeRun', 'openDiff', 'openFile', 'log']),
};

/** State a webview keeps with setState, so a panel restores after a reload. */
export interface PanelState {
  /** Run folders (dashboard, samples) or run folders / experiment files (config diff). */
  sources: string[];
  /** UI settings of the app (smoothing, toggles, filters); opaque to the host. */
  ui?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Validation

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown, max = 4096): x is string => typeof x === 'string' && x.length > 0 && x.length <= max;
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function onlyKeys(o: Record<string, unknown>, keys: string[]): string | null {
  for (const k of Object.keys(o)) if (!keys.includes(k)) return `unexpected field '${k}'`;
  return null;
}

/**
 * Checks the shape of a message from the webview of `panel`. Returns the typed message, or an
 * error naming the offending field. Unknown types, extra fields, wrong types, non-finite or
 * negative numbers and types not allowed for this panel are all rejected.
 */
export function parseWebviewMessage(panel: PanelKind, x: unknown): Parsed<WebviewMessage> {
  const fail = (error: string): Parsed<WebviewMessage> => ({ ok: false, error });
  if (!isObj(x)) return fail('message is not an object');
  const type = x.type;
  if (typeof type !== 'string') return fail("field 'type' is missing or not a string");
  if (!ALLOWED[panel].has(type as WebviewMessage['type'])) return fail(`type '${type}' is not accepted from the ${panel} panel`);
  const extra = (keys: string[]): string | null => onlyKeys(x, ['type', ...keys]);
  let e: string | null;
  switch (type) {
    case 'ready':
    case 'addRuns':
      if ((e = extra([]))) return fail(e);
      return { ok: true, value: { type } };
    case 'command': {
      if ((e = extra(['command', 'key']))) return fail(e);
      if (!(WEBVIEW_COMMANDS as readonly string[]).includes(x.command as string)) return fail(`field 'command' must be one of ${WEBVIEW_COMMANDS.join(', ')}`);
      if (x.key !== undefined && !isStr(x.key)) return fail("field 'key' must be a non-empty string");
      return { ok: true, value: { type, command: x.command as WebviewCommand, ...(x.key !== undefined ? { key: x.key as string } : {}) } };
    }
    case 'removeRun':
      if ((e = extra(['key']))) return fail(e);
      if (!isStr(x.key)) return fail("field 'key' must be a non-empty string");
      return { ok: true, value: { type, key: x.key } };
    case 'openFile':
      if ((e = extra(['path']))) return fail(e);
      if (!isStr(x.path)) return fail("field 'path' must be a non-empty string");
      return { ok: true, value: { type, path: x.path } };
    case 'openDiff':
      if ((e = extra(['left', 'right']))) return fail(e);
      if (!isStr(x.left) || !isStr(x.right)) return fail("fields 'left' and 'right' must be non-empty strings");
      if (x.left === x.right) return fail("fields 'left' and 'right' must differ");
      return { ok: true, value: { type, left: x.left, right: x.right } };
    case 'export': {
      if ((e = extra(['format', 'name', 'data']))) return fail(e);
      if (!EXPORT_FORMATS.includes(x.format as ExportFormat)) return fail(`field 'format' must be one of ${EXPORT_FORMATS.join(', ')}`);
      if (typeof x.name !== 'string' || !/^[\w.-]{1,100}$/.test(x.name)) return fail("field 'name' must be 1-100 letters, digits, '.', '-' or '_' (a file name without folders)");
      if (typeof x.data !== 'string' || x.data.length === 0 || x.data.length > MAX_EXPORT_CHARS) return fail(`field 'data' must be a non-empty string of at most ${MAX_EXPORT_CHARS} characters`);
      if (x.format === 'png' && !x.data.startsWith('data:image/png;base64,')) return fail("field 'data' of a png export must be a data:image/png;base64 URL");
      if (x.format === 'svg' && !x.data.trimStart().startsWith('<svg')) return fail("field 'data' of an svg export must be an <svg> document");
      return { ok: true, value: { type, format: x.format as ExportFormat, name: x.name, data: x.data } };
    }
    case 'log':
      if ((e = extra(['level', 'message']))) return fail(e);
      if (!['info', 'warn', 'error'].includes(x.level as string)) return fail("field 'level' must be info, warn or error");
      if (typeof x.message !== 'string' || x.message.length > 20000) return fail("field 'message' must be a string of at most 20000 characters");
      return { ok: true, value: { type, level: x.level as 'info' | 'warn' | 'error', message: x.message } };
    case 'editHyper': {
      if ((e = extra(['experimentFile', 'stage', 'values']))) return fail(e);
      if (!isStr(x.experimentFile)) return fail("field 'experimentFile' must be a non-empty string");
      if (!(EDITABLE_STAGE_KINDS as readonly string[]).includes(x.stage as string)) return fail(`field 'stage' must be one of ${EDITABLE_STAGE_KINDS.join(', ')}`);
      const v = x.values;
      if (!isObj(v)) return fail("field 'values' must be an object");
      if ((e = onlyKeys(v, ['lr', 'ce', 'res', 'vis', 'rel']))) return fail(`values: ${e}`);
      const values: HyperValues = {};
      for (const k of ['lr', 'ce', 'res', 'vis', 'rel'] as const) {
        if (v[k] === undefined) continue;
        const n = v[k];
        if (!isNum(n)) return fail(`values.${k} must be a finite number`);
        if (k === 'lr' ? !(n > 0 && n <= 1) : !(n >= 0 && n <= 1000)) {
          return fail(k === 'lr' ? `values.lr must be in (0, 1], found ${n}` : `values.${k} must be in [0, 1000], found ${n}`);
        }
        values[k] = n;
      }
      if (Object.keys(values).length === 0) return fail("field 'values' holds no value to write");
      return { ok: true, value: { type, experimentFile: x.experimentFile, stage: x.stage as StageKind, values } };
    }
    default:
      return fail(`unknown message type '${type}'`);
  }
}

/** Checks the state a webview stored (it comes back through the serializer after a reload). */
export function parsePanelState(x: unknown): Parsed<PanelState> {
  if (!isObj(x)) return { ok: false, error: 'state is not an object' };
  if (!Array.isArray(x.sources) || !x.sources.every((s) => isStr(s))) return { ok: false, error: "state.sources must be an array of non-empty strings" };
  if (x.ui !== undefined && !isObj(x.ui)) return { ok: false, error: 'state.ui must be an object' };
  return { ok: true, value: { sources: x.sources as string[], ...(x.ui ? { ui: x.ui as Record<string, unknown> } : {}) } };
}
