/**
 * The JSON lines `llava-kd sweep … --json` prints on stdout, one object a line: what its follower
 * reports (trainer/sweep/follow.ts emits these), its log lines, and the error of a refused (exit
 * 2) or failed sweep (cli/main.ts). The extension reads them; sweep.json (sweepFormat.ts) holds
 * the same facts durably. Types only, plus the set of event names; imports only src/common.
 */
import type { PointState, SweepEngine, SweepManifest } from './sweepFormat';

/** What a sweep's follower reports: its start (or resume), each point's change of state, its end. */
export type SweepFollowEvent =
  | { event: 'sweep-started'; sweepDir: string; id: string; engine: SweepEngine; points: number; /** Points already completed (a resume), not run again. */ skipped: number; resumed: boolean }
  | { event: 'sweep-point'; index: number; key: string; state: PointState; runDir: string; jobId?: string; error?: string }
  | { event: 'sweep-finished'; sweepDir: string; state: SweepManifest['state']; counts: Record<PointState, number> };

/** Every line of `llava-kd sweep --json` (and of `sweep-cancel --json`: log lines, or the error). */
export type SweepEvent = SweepFollowEvent | { event: 'log'; level: 'info' | 'warn'; message: string } | { event: 'error'; message: string };

/** The `event` names of SweepEvent. */
export const SWEEP_EVENT_NAMES: ReadonlySet<string> = new Set(['sweep-started', 'sweep-point', 'sweep-finished', 'log', 'error']);
