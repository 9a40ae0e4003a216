/**
 * Run summaries as the host reads them from disk: the runs of an experiment folder and one run
 * folder on its own (for panels showing runs outside the workspace scan), each with its status
 * (dead pid -> failed), checkpoints and the user's run-meta.json annotations. No vscode.
 */
import * as path from 'node:path';
import { readRunMeta } from '../../common/runMeta';
import { effectiveState, listRuns, readStatus } from '../../common/runReader';
import { fromReaderSummary, type RunSummary } from './runModel';

/** `run` with its annotations read from run-meta.json (a bad file is noted in `metaError`). */
export function withMeta(run: RunSummary): RunSummary {
  const m = readRunMeta(run.dir);
  const out: RunSummary = { ...run, meta: m.meta };
  if (m.error) out.metaError = m.error;
  return out;
}

/** Summaries of the runs of an experiment folder, with their annotations. */
export function runsOf(expDir: string): RunSummary[] {
  return listRuns(expDir).map((r) => withMeta(fromReaderSummary(r)));
}

/** One run folder read directly (for panels showing runs outside the workspace scan). */
export function readRunSummary(runDir: string): RunSummary {
  const res = readStatus(runDir);
  const status = res.ok ? res.status : null;
  return withMeta(fromReaderSummary({
    runId: path.basename(runDir),
    dir: runDir,
    status,
    error: res.ok ? null : res,
    effective: status ? effectiveState(status) : null,
    checkpoints: [],
  }));
}
