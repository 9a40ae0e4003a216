/**
 * The local sweep engine: runs the points as child processes (`llava-kd sweep-point`), `parallel`
 * at a time, a point that starts from another only after that one completed; each child's stdout
 * and stderr go to `<sweep>/logs/p<NNN>.out|.err`. A stop (SIGINT/SIGTERM, or `sweep-cancel`)
 * sends SIGTERM to the children, which checkpoint and exit: their points end `cancelled`, as do
 * the points never started.
 */
import { pointRunDir, type SweepPoint } from '../../common/sweepFormat';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { endedPointState } from './manifest';
import { flush, setPoint, sleep, type Follower } from './follow';

export interface LocalOptions {
  parallel: number;
  /** The node executable and the CLI script that runs a point. */
  node: string;
  cli: string;
  /** Extra arguments of every point (e.g. `--backend wasm`). */
  pointArgs?: string[];
}

export async function runLocal(f: Follower, todo: SweepPoint[], o: LocalOptions): Promise<void> {
  const logDir = path.join(f.dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const pending = [...todo];
  for (const p of pending) setPoint(f, p, 'pending');
  flush(f);
  const running = new Map<number, ChildProcess>();
  const exits: Promise<void>[] = [];
  const byIndex = (i: number) => f.manifest.points[i];
  const start = (p: SweepPoint) => {
    const n = String(p.index).padStart(3, '0');
    const stdout = path.join(logDir, `p${n}.out`);
    const stderr = path.join(logDir, `p${n}.err`);
    const out = fs.openSync(stdout, 'a');
    const err = fs.openSync(stderr, 'a');
    const child = spawn(o.node, [o.cli, 'sweep-point', f.dir, String(p.index), '--json', ...(o.pointArgs ?? [])], { stdio: ['ignore', out, err] });
    fs.closeSync(out);
    fs.closeSync(err);
    running.set(p.index, child);
    setPoint(f, p, 'running', { attempts: p.attempts + 1, stdout, stderr, jobId: undefined, endedAt: undefined, error: undefined });
    exits.push(new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(p.index);
        const r = endedPointState(pointRunDir(f.dir, p));
        const state = r.state === 'completed' ? 'completed' : code === 130 || signal || f.stop.requested ? 'cancelled' : 'failed';
        const why = r.error ?? (code === 2 ? `bad input (exit 2): see ${stderr}` : `exit ${code ?? signal}: see ${stderr}`);
        setPoint(f, p, state, state === 'failed' ? { error: why } : {});
        resolve();
      });
      child.on('error', (e) => {
        running.delete(p.index);
        setPoint(f, p, 'failed', { error: `cannot start ${o.node}: ${e.message}` });
        resolve();
      });
    }));
  };
  let signalled = false;
  while (pending.length || running.size) {
    if (f.stop.requested) {
      if (!signalled) {
        signalled = true;
        f.log(`stopping: SIGTERM to ${running.size} running point(s); each saves a resumable checkpoint`);
        for (const c of running.values()) c.kill('SIGTERM');
      }
      for (const p of pending.splice(0)) setPoint(f, p, 'cancelled');
    }
    // A point whose source failed can never start.
    for (let i = pending.length - 1; i >= 0; i--) {
      const src = pending[i].from !== undefined ? byIndex(pending[i].from!) : undefined;
      if (src && ['failed', 'cancelled', 'timeout'].includes(src.state) && !running.has(src.index) && !pending.includes(src)) {
        setPoint(f, pending[i], 'failed', { error: `point ${src.index} (${src.key}), which it starts from, ended ${src.state}` });
        pending.splice(i, 1);
      }
    }
    const ready = pending.findIndex((p) => p.from === undefined || byIndex(p.from).state === 'completed');
    if (ready >= 0 && running.size < o.parallel && !f.stop.requested) {
      start(pending.splice(ready, 1)[0]);
      flush(f);
      continue;
    }
    flush(f);
    await sleep(f.pollMs);
  }
  await Promise.all(exits);
  flush(f);
}
