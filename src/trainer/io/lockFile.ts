/**
 * Cross-process lock files: `<name>.lock` created exclusively and holding the owner's pid; a lock
 * whose owner is dead is taken over. Used where concurrent runs must build a shared artifact once
 * (the generated world, the teacher store, the teacher-output cache): one builds, the others wait. Node only (fs).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isProcessAlive } from '../../common/runReader';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * Creates the lock file holding our pid; takes over a lock whose owner is dead. False when a live
 * process holds it. The file appears with its pid already inside (written to a temp file, then
 * hard-linked to the lock's name, which fails when the name exists), so a reader never sees an
 * empty lock and mistakes it for a dead one. Of two processes taking over one dead lock, one moves
 * it aside and links its own; the other, finding the moved file held by a live pid, puts it back.
 */
export function takeLock(lock: string): boolean {
  const hex = randomBytes(4).toString('hex');
  const tmp = `${lock}.tmp-${process.pid}-${hex}`;
  writeFileSync(tmp, String(process.pid));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (createFrom(tmp, lock)) return true;
      const pid = lockOwner(lock);
      if (pid !== undefined && isProcessAlive(pid)) return false;
      if (!existsSync(lock)) continue; // released meanwhile
      const aside = `${lock}.stale-${process.pid}-${hex}`;
      try {
        renameSync(lock, aside);
      } catch (e) {
        if (code(e) === 'ENOENT') continue; // another taker moved it first
        throw e;
      }
      const moved = lockOwner(aside);
      if (moved !== undefined && moved !== pid && isProcessAlive(moved)) {
        // What we moved was the fresh lock of a process that took over first: give it back.
        try { linkSync(aside, lock); } catch { /* a third process holds the name now */ }
        rmSync(aside, { force: true });
        return false;
      }
      rmSync(aside, { force: true });
    }
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Gives `lock` the contents of `tmp` if the name is free (a hard link; exclusive create where links are not supported). */
function createFrom(tmp: string, lock: string): boolean {
  try {
    linkSync(tmp, lock);
    return true;
  } catch (e) {
    if (code(e) === 'EEXIST') return false;
    if (code(e) !== 'EPERM' && code(e) !== 'ENOTSUP' && code(e) !== 'EOPNOTSUPP') throw e;
  }
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if (code(e) === 'EEXIST') return false;
    throw e;
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
