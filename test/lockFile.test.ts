/**
 * Cross-process lock files and the writers that rely on them, with real processes started at
 * the same instant (test/helpers/raceChild.ts): six processes generating one world folder while
 * they read it (a sweep's points starting together; before the world's lock, a second writer
 * swapped the folder out from under the first one's reads and the point failed as bad input);
 * six processes taking one free lock, and one dead owner's lock: exactly one holds it at a time.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockOwner, releaseLock, takeLock } from '../src/trainer/io/lockFile';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-lock-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const CHILD = path.join(__dirname, 'helpers', 'raceChild.ts');

interface ChildResult { ok: boolean; error?: string; took?: boolean }

/** Starts `n` children of `mode` on `target`, all released at the same instant (after their startup). */
async function race(n: number, mode: 'world' | 'lock', target: string, ms: number): Promise<ChildResult[]> {
  const startAt = Date.now() + 4000;
  let answered = 0;
  // Lock mode: once every child but the holder has answered, the holder may release.
  const answer = (r: ChildResult) => { if (mode === 'lock' && !r.took && ++answered === n - 1) fs.writeFileSync(`${target}.done`, ''); return r; };
  return Promise.all(Array.from({ length: n }, () => new Promise<ChildResult>((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, target, String(startAt), String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('close', (code) => {
      try {
        resolve(answer(JSON.parse(out.trim().split('\n').pop()!) as ChildResult));
      } catch {
        reject(new Error(`child exited ${code} without a result: ${out}${err}`));
      }
    });
  })));
}

test('six processes generating one world at once: each finds every file in place while the others run; no lock or temp folder left', { timeout: 120_000 }, async () => {
  for (const round of [1, 2]) {
    const dir = path.join(root, `world-${round}`);
    const results = await race(6, 'world', dir, 2500);
    assert.deepEqual(results.filter((r) => !r.ok), [], `round ${round}`);
    assert.ok(fs.existsSync(path.join(dir, 'world-meta.json')));
    assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('.')), [], 'no lock, temp or old folder beside the world');
  }
});

test('six processes taking one free lock at once: exactly one gets it; the file holds its pid from the start', { timeout: 60_000 }, async () => {
  const lock = path.join(root, 'free.lock');
  const results = await race(6, 'lock', lock, 30_000);
  fs.rmSync(`${lock}.done`, { force: true });
  assert.deepEqual(results.filter((r) => !r.ok), []);
  assert.equal(results.filter((r) => r.took).length, 1, JSON.stringify(results));
  assert.equal(fs.existsSync(lock), false, 'released');
  assert.deepEqual(fs.readdirSync(root).filter((f) => f.includes('free.lock')), [], 'no temp file of the lock left');
});

test('six processes taking over a dead owner\'s lock at once: exactly one gets it', { timeout: 60_000 }, async () => {
  const lock = path.join(root, 'dead.lock');
  fs.writeFileSync(lock, '999999999'); // no such pid
  const results = await race(6, 'lock', lock, 30_000);
  fs.rmSync(`${lock}.done`, { force: true });
  assert.deepEqual(results.filter((r) => !r.ok), []);
  assert.equal(results.filter((r) => r.took).length, 1, JSON.stringify(results));
  assert.deepEqual(fs.readdirSync(root).filter((f) => f.includes('dead.lock')), [], 'released, nothing left aside');
});

test('in one process: a held lock is refused while its owner lives; an empty or garbled lock file (a crash mid-write) is taken over; release removes only our own', () => {
  const lock = path.join(root, 'one.lock');
  fs.writeFileSync(lock, String(process.ppid)); // a live process
  assert.equal(takeLock(lock), false);
  assert.equal(lockOwner(lock), process.ppid);
  releaseLock(lock);
  assert.ok(fs.existsSync(lock), 'not ours: left in place');
  for (const junk of ['', 'x y']) {
    fs.writeFileSync(lock, junk);
    assert.equal(takeLock(lock), true, JSON.stringify(junk));
    assert.equal(lockOwner(lock), process.pid);
    releaseLock(lock);
    assert.equal(fs.existsSync(lock), false);
  }
});
