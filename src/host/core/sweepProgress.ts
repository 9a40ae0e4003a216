/**
 * A sweep this window runs (`llava-kd sweep … --json`), as its JSON lines tell it: the sweep
 * folder, the state of each point, the status-bar text, and the report when the process exits
 * (finished, cancelled, refused with the CLI's message, or failed). Pure (no vscode, no IO),
 * unit-tested in test/host-sweepProgress.test.ts. Imports src/common and src/host/core only.
 */
import type { SweepEvent } from '../../common/sweepEvents';
import { POINT_STATES, type PointState, type SweepEngine, type SweepManifest } from '../../common/sweepFormat';
import { countsPhrase, countsSentence } from './sweepModel';
import { exitOutcome, type TrainerExit } from './trainerProcess';

export interface SweepProgress {
  experimentFile: string;
  experimentName: string;
  engine: SweepEngine;
  /** From `sweep-started` on. */
  sweepDir?: string;
  sweepId?: string;
  /** The sweep's name (its manifest's), once known. */
  name?: string;
  /** Points of the sweep (0 until `sweep-started`). */
  total: number;
  /** Point index → state (points not listed are planned). */
  states: Map<number, PointState>;
  /** Point index → its run folder, as events name them. */
  runDirs: Map<number, string>;
  /** The `sweep-finished` event, when it came. */
  finished?: Extract<SweepEvent, { event: 'sweep-finished' }>;
  /** The message of the last `error` event. */
  lastError?: string;
  /** Last lines of stderr. */
  stderrTail: string[];
}

export function newSweepProgress(experimentFile: string, experimentName: string, engine: SweepEngine): SweepProgress {
  return { experimentFile, experimentName, engine, total: 0, states: new Map(), runDirs: new Map(), stderrTail: [] };
}

/** The state an event leaves `p` in (mutates and returns it). */
export function applySweepEvent(p: SweepProgress, e: SweepEvent): SweepProgress {
  switch (e.event) {
    case 'sweep-started':
      p.sweepDir = e.sweepDir;
      p.sweepId = e.id;
      p.engine = e.engine;
      p.total = e.points;
      break;
    case 'sweep-point':
      p.states.set(e.index, e.state);
      if (e.runDir) p.runDirs.set(e.index, e.runDir);
      break;
    case 'sweep-finished':
      p.finished = e;
      p.sweepDir = e.sweepDir;
      break;
    case 'error':
      p.lastError = e.message;
      break;
    case 'log':
      break;
  }
  return p;
}

/** Takes the name and the point states of the manifest (read once the sweep folder is known). */
export function seedFromManifest(p: SweepProgress, m: Pick<SweepManifest, 'name' | 'points'>): SweepProgress {
  p.name = m.name;
  p.total = Math.max(p.total, m.points.length);
  for (const pt of m.points) if (!p.states.has(pt.index)) p.states.set(pt.index, pt.state);
  return p;
}

/** Keeps the last `max` stderr lines. */
export function pushStderr(p: SweepProgress, line: string, max = 30): void {
  p.stderrTail.push(line);
  if (p.stderrTail.length > max) p.stderrTail.shift();
}

/** Point counts by state (points without a state yet count as planned). */
export function progressCounts(p: SweepProgress): Record<PointState, number> {
  const c = Object.fromEntries(POINT_STATES.map((s) => [s, 0])) as Record<PointState, number>;
  for (const s of p.states.values()) c[s]++;
  c.planned += Math.max(0, p.total - p.states.size);
  return c;
}

/** What a sweep is called in messages: its name, else the experiment's. */
export function sweepTitle(p: SweepProgress): string {
  return p.name ?? p.sweepId ?? p.experimentName;
}

/** `3/8 completed · 2 running`, or `starting` before the points are known. */
export function progressPhrase(p: SweepProgress): string {
  return p.total > 0 ? countsPhrase(progressCounts(p), p.total) : 'starting';
}

/** Status-bar text: `$(sync~spin) Sweep grid-T 3/8 completed · 2 running (+1 sweep)`. */
export function sweepStatusText(list: readonly SweepProgress[]): string {
  const [first] = list;
  if (!first) return '';
  const more = list.length > 1 ? ` (+${list.length - 1} sweep${list.length > 2 ? 's' : ''})` : '';
  return `$(sync~spin) Sweep ${sweepTitle(first)} ${progressPhrase(first)}${more}`;
}

export type SweepReportAction = 'Open Dashboard' | 'Show Log' | 'Open Config';

export interface SweepReport {
  severity: 'info' | 'warning' | 'error';
  message: string;
  actions: SweepReportAction[];
  /** 1-based line of the experiment file the refusal names (Open Config goes there). */
  line?: number;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The CLI's refusal (an `error` event, else stderr) for a notification: its first problem with the
 * experiment file shown as `displayFile`, the count of the others (the log has them all), and the
 * line of the file it names.
 */
export function refusalDetail(text: string, experimentFile: string, displayFile: string): { text: string; line?: number } {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return { text: '' };
  const first = lines[0].replace(/^llava-kd: /, '');
  const m = new RegExp(`^${escapeRe(experimentFile)}:(\\d+)`).exec(first);
  const more = lines.length > 1 ? ` (+${lines.length - 1} more in the log)` : '';
  return { text: first.split(experimentFile).join(displayFile) + more, ...(m ? { line: Number(m[1]) } : {}) };
}

/**
 * The notification when the sweep process exits (code 0 all completed, 1 some failed, 130
 * cancelled, 2 bad input and nothing written). `hasRuns`: some point has a run folder to show;
 * `displayFile`: how messages name the experiment file (relative to the workspace).
 */
export function sweepExitReport(p: SweepProgress, exit: TrainerExit, hasRuns: boolean, displayFile = p.experimentFile): SweepReport {
  const name = sweepTitle(p);
  const view: SweepReportAction[] = hasRuns ? ['Open Dashboard', 'Show Log'] : ['Show Log'];
  const outcome = exitOutcome(exit);
  if (outcome === 'invalid') {
    const d = refusalDetail(p.lastError ?? p.stderrTail.slice(-3).join('\n'), p.experimentFile, displayFile);
    return { severity: 'error', message: `LLaVA-KD: Sweep of ${p.experimentName} refused: ${d.text || 'invalid sweep section or input (exit code 2)'}`, actions: ['Open Config', 'Show Log'], ...(d.line ? { line: d.line } : {}) };
  }
  const f = p.finished;
  if (f) {
    const counts = countsSentence(f.counts);
    if (f.state === 'completed') return { severity: 'info', message: `LLaVA-KD: Sweep ${name} finished: ${counts}.`, actions: view };
    if (f.state === 'failed') return { severity: 'warning', message: `LLaVA-KD: Sweep ${name} finished: ${counts}.`, actions: view };
    if (f.state === 'cancelled') return { severity: 'info', message: `LLaVA-KD: Sweep ${name} cancelled: ${counts}.`, actions: view };
    return { severity: 'warning', message: `LLaVA-KD: Sweep ${name} stopped: ${counts}${p.lastError ? ` — ${p.lastError}` : ''}.`, actions: view };
  }
  if (outcome === 'completed') return { severity: 'info', message: `LLaVA-KD: Sweep ${name} finished: ${countsSentence(progressCounts(p))}.`, actions: view };
  if (outcome === 'stopped') return { severity: 'info', message: `LLaVA-KD: Sweep ${name} cancelled: ${countsSentence(progressCounts(p))}${exit.killed ? ' (killed after the grace period)' : ''}.`, actions: view };
  const detail = p.lastError ?? p.stderrTail.slice(-2).join(' ').trim();
  const why = detail ? `: ${detail}` : exit.signal ? ` (killed by ${exit.signal})` : ` (exit code ${exit.code})`;
  return { severity: 'error', message: `LLaVA-KD: Sweep ${name} failed${why}`, actions: view };
}
