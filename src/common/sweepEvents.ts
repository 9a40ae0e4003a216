/**
 * The JSON lines `llava-kd sweep … --json` prints on stdout, one object a line (the CLI writes
 * them, the extension reads them). sweep.json (sweepFormat.ts) holds the same facts durably.
 * Types only, plus the set of event names; imports only src/common.
 */
import type { PointState, SweepEngine, SweepManifest } from './sweepFormat';

export type SweepEvent =
  | { event: 'sweep-started'; sweepDir: string; id: string; engine: SweepEngine; points: number; /** Completed points of an earlier attempt, not run again. */ skipped: number }
  | { event: 'sweep-point'; index: number; state: PointState; runDir?: string; jobId?: string }
  | { event: 'sweep-finished'; sweepDir: string; state: Exclude<SweepManifest['state'], 'running'>; counts: Partial<Record<PointState, number>> }
  | { event: 'log'; message: string; level?: 'info' | 'warn' }
  | { event: 'error'; message: string };

/** The `event` names of SweepEvent. */
export const SWEEP_EVENT_NAMES: ReadonlySet<string> = new Set(['sweep-started', 'sweep-point', 'sweep-finished', 'log', 'error']);
