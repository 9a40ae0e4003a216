/**
 * The parts of "Delete Run…" that need no VS Code: why a run may not be deleted (it trains, or a
 * queued training needs it), the confirmation text naming what the folder holds (stages done,
 * checkpoints, size on disk), the size of a folder, and the order of the attempts: the trash
 * first, and only after a second, explicit yes a permanent delete. Unit-tested in
 * test/host-runDelete.test.ts; src/host/runMetaCommands.ts shows the dialogs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunStatus } from '../../common/runFormat';
import { formatBytes } from '../../common/format';

/** What the confirmation says about one run. */
export interface RunContents {
  runId: string;
  /** run-meta.json name, when set. */
  name?: string;
  dir: string;
  experimentName: string;
  status?: RunStatus;
  checkpoints: number;
  bytes: number;
}

/** Why a run must not be deleted now, or undefined when it may be. */
export function deleteRefusal(c: Pick<RunContents, 'runId' | 'name' | 'status'>, training: boolean, queued: boolean): string | undefined {
  const who = runTitle(c);
  if (training || c.status?.state === 'running') return `${who} is training: stop it first, then delete it.`;
  if (queued) return `${who} is needed by a queued training (it resumes it or starts from its checkpoints): it was not deleted.`;
  return undefined;
}

/** `"baseline γ=0.25" (20250101-000000-abcd)` or the bare run id. */
export function runTitle(c: Pick<RunContents, 'runId' | 'name'>): string {
  return c.name ? `"${c.name}" (${c.runId})` : c.runId;
}

/** Lines describing one run folder in the confirmation. */
export function contentsLines(c: RunContents): string[] {
  const s = c.status;
  const stages = s
    ? `${s.state} · ${s.completedStages.length} of ${s.stages.length} stage${s.stages.length === 1 ? '' : 's'} done${s.completedStages.length ? ` (${s.completedStages.join(', ')})` : ''}`
    : 'status unreadable';
  return [
    `${runTitle(c)} of ${c.experimentName}: ${stages}`,
    `${c.checkpoints} checkpoint${c.checkpoints === 1 ? '' : 's'}, ${formatBytes(c.bytes)} on disk`,
    c.dir,
  ];
}

/** The modal's message and detail for deleting `runs` (one or more). */
export function deleteConfirmation(runs: RunContents[]): { message: string; detail: string } {
  const total = runs.reduce((n, r) => n + r.bytes, 0);
  const message = runs.length === 1 ? `Delete run ${runTitle(runs[0])}?` : `Delete ${runs.length} runs (${formatBytes(total)})?`;
  const detail = [
    ...runs.map((r) => contentsLines(r).join('\n')),
    `The folder${runs.length === 1 ? '' : 's'}, with metrics, samples, checkpoints and notes, will be moved to the trash. Where there is no trash you are asked again before anything is deleted for good.`,
  ].join('\n\n');
  return { message, detail };
}

/** The second question, asked when the trash failed: nothing is deleted unless the user says so again. */
export function permanentConfirmation(runs: RunContents[], reason: string): { message: string; detail: string } {
  const what = runs.length === 1 ? `run ${runTitle(runs[0])}` : `${runs.length} runs`;
  return {
    message: `Delete ${what} permanently?`,
    detail: `The trash is not available here (${reason}). Deleting permanently cannot be undone: ${runs.map((r) => `${r.checkpoints} checkpoint${r.checkpoints === 1 ? '' : 's'} and ${formatBytes(r.bytes)} in ${r.dir}`).join('; ')} will be gone.`,
  };
}

/** Bytes of the files under `dir` (links not followed; unreadable entries count 0). */
export function folderBytes(dir: string): number {
  let n = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else if (e.isFile()) n += fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  }
  return n;
}

export type DeleteOutcome = { done: 'trash' } | { done: 'permanent'; reason: string } | { done: 'kept'; reason: string };

/**
 * Deletes by `remove(true)` (to the trash); when that fails, asks `confirmPermanent(reason)` and
 * only on yes calls `remove(false)`. An error of the permanent delete propagates.
 */
export async function deleteWithTrashFallback(remove: (useTrash: boolean) => Promise<void>, confirmPermanent: (reason: string) => Promise<boolean>): Promise<DeleteOutcome> {
  try {
    await remove(true);
    return { done: 'trash' };
  } catch (e) {
    const reason = (e as Error).message || String(e);
    if (!(await confirmPermanent(reason))) return { done: 'kept', reason };
    await remove(false);
    return { done: 'permanent', reason };
  }
}

/** True for a folder `<experiment>/runs/<id>` holding status.json or config.json: the only kind Delete Run removes. */
export function isRunFolder(dir: string): boolean {
  if (!path.isAbsolute(dir) || path.basename(path.dirname(dir)) !== 'runs') return false;
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return false;
  return ['status.json', 'config.json'].some((f) => fs.existsSync(path.join(dir, f)));
}
