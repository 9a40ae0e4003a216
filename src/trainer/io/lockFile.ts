/**
 * Cross-process lock files: `<name>.lock` created exclusively and holding the owner's pid; a lock
 * whose owner is dead is taken over. Used where concurrent runs must build a shared artifact once
 * (the teacher store, the teacher-output cache): one builds, the others wait. Node only (fs).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isProcessAlive } from '../../common/runReader';

/** Creates the lock file (holding our pid); takes over a lock whose writer is dead. False when a live process holds it. */
export function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const pid = lockOwner(lock);
    if (pid !== undefined && isProcessAlive(pid)) return false;
    rmSync(lock, { force: true });
    return takeLock(lock);
  }
}

/** Pid of the process holding a lock file, or undefined when there is none (or it is unreadable). */
export function lockOwner(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a lock file we hold (never one another live process took over). */
export function releaseLock(lock: string): void {
  if (lockOwner(lock) === process.pid) rmSync(lock, { force: true });
}

/** Blocks the thread for `ms` milliseconds (waiting for another process's lock). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
