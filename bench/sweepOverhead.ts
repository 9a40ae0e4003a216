/**
 * `npm run bench:sweep`: the sweep layer's own overhead at 10, 100 and 1000 points, without
 * training. For each size: planning (expanding the sweep section and checking every point as an
 * experiment file), creating the sweep folder, and the Slurm engine submitting and following
 * the points against a simulated cluster (an in-process fake of sbatch / squeue / scontrol in
 * which 50 tasks run at a time and each runs for two polls, then writes its run folder's
 * status.json as a finished point does); polls are back to back (poll interval 0), so the
 * per-poll time is the follower's own cost. Medians of 3 repetitions; the peer is the same work
 * at 10 points (the ratio says how the cost grows).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planSweep } from '../src/trainer/sweep/sweepCommand';
import { createSweep } from '../src/trainer/sweep/manifest';
import { pointsToRun, type Follower } from '../src/trainer/sweep/follow';
import { runSlurm } from '../src/trainer/sweep/slurmEngine';
import type { SlurmExec } from '../src/trainer/sweep/slurm';
import { SWEEP_FILE } from '../src/common/sweepFormat';

const SIZES = [10, 100, 1000];
const REPS = 3;
const RUNNING_AT_ONCE = 50;
const POLLS_RUNNING = 2;

/** A cluster in memory: array tasks go PENDING → RUNNING (50 at a time) → gone after two polls, their run folder written. */
function fakeCluster(runsDir: string, runIdOf: (point: number) => string): { exec: SlurmExec; polls: () => number } {
  let nextJob = 1;
  let polls = 0;
  const tasks = new Map<string, { point: number; state: 'PENDING' | 'RUNNING' | 'COMPLETED'; left: number }>();
  const exec: SlurmExec = async (cmd, args) => {
    if (cmd === 'sbatch') {
      const script = fs.readFileSync(args[args.length - 1], 'utf8');
      const job = nextJob++;
      for (const m of script.matchAll(/^ {2}(\d+)\) POINT=(\d+) ;;$/gm)) tasks.set(`${job}_${m[1]}`, { point: Number(m[2]), state: 'PENDING', left: POLLS_RUNNING });
      return `${job}\n`;
    }
    if (cmd === 'squeue') {
      polls++;
      let running = [...tasks.values()].filter((t) => t.state === 'RUNNING').length;
      for (const [id, t] of tasks) {
        if (t.state === 'RUNNING' && --t.left <= 0) {
          t.state = 'COMPLETED';
          running--;
          const dir = path.join(runsDir, runIdOf(t.point));
          fs.mkdirSync(dir, { recursive: true });
          const now = new Date().toISOString();
          fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ runId: runIdOf(t.point), experiment: 'x', state: 'completed', stages: [], completedStages: [], stage: null, step: 0, totalSteps: 0, globalStep: 0, globalTotalSteps: 0, pid: 1, backend: 'wasm', startedAt: now, updatedAt: now, endedAt: now, job: { sweep: 's', point: t.point, engine: 'slurm', jobId: id, attempt: 1 } }));
        }
      }
      for (const t of tasks.values()) if (t.state === 'PENDING' && running < RUNNING_AT_ONCE) { t.state = 'RUNNING'; running++; }
      return [...tasks].filter(([, t]) => t.state !== 'COMPLETED').map(([id, t]) => `${id}|${t.state}|0:01|localhost`).join('\n');
    }
    if (cmd === 'scontrol') {
      const job = args[args.length - 1];
      return [...tasks].filter(([id, t]) => id.startsWith(`${job}_`) && t.state === 'COMPLETED').map(([id]) => `JobId=9 ArrayJobId=${job} ArrayTaskId=${id.split('_')[1]} JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:00:02`).join('\n');
    }
    if (cmd === 'sacct') throw new Error('Slurm accounting storage is disabled');
    return '';
  };
  return { exec, polls: () => polls };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(n: number): Promise<{ plan: number; create: number; follow: number; polls: number; perPoll: number; kb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-bench-sweep-'));
  try {
    // n points: n/10 temperatures × 10 seeds (10 points: 1 × 10).
    const temps = Array.from({ length: n / 10 }, (_, i) => Number((0.5 + i * 0.01).toFixed(2)));
    const file = path.join(dir, 'kd-experiment.json');
    fs.writeFileSync(file, JSON.stringify({ preset: 'tiny', sweep: { name: 'overhead', grid: { 'distill.temperature': temps }, seeds: 10 } }));
    let t = performance.now();
    const s = planSweep(file);
    const plan = performance.now() - t;
    t = performance.now();
    const { dir: sweepDir, manifest } = createSweep(file, s.name, s.hash, s.points, 'slurm', 0);
    const create = performance.now() - t;
    const runIds = manifest.points.map((p) => p.runId);
    const cluster = fakeCluster(path.join(dir, 'runs'), (i) => runIds[i]);
    const f: Follower = { dir: sweepDir, manifest, emit: () => undefined, log: () => undefined, stop: { requested: false }, pollMs: 0 };
    t = performance.now();
    await runSlurm(f, pointsToRun(f), { spec: {}, parallel: 0, node: process.execPath, cli: 'cli.js', exec: cluster.exec });
    const follow = performance.now() - t;
    if (!manifest.points.every((p) => p.state === 'completed')) throw new Error(`simulation: not every point completed (${n})`);
    return { plan, create, follow, polls: cluster.polls(), perPoll: follow / cluster.polls(), kb: fs.statSync(path.join(sweepDir, SWEEP_FILE)).size / 1024 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  let base: { plan: number; perPoll: number } | undefined;
  process.stdout.write(`sweep overhead on ${os.cpus()[0]?.model ?? 'this CPU'} (${os.cpus().length} cores), node ${process.version}; medians of ${REPS}\n`);
  for (const n of SIZES) {
    const rs = [];
    for (let i = 0; i < REPS; i++) rs.push(await measure(n));
    const m = { plan: median(rs.map((r) => r.plan)), create: median(rs.map((r) => r.create)), follow: median(rs.map((r) => r.follow)), polls: median(rs.map((r) => r.polls)), perPoll: median(rs.map((r) => r.perPoll)), kb: median(rs.map((r) => r.kb)) };
    base ??= m;
    rows.push(`| ${n} | ${m.plan.toFixed(0)} (${(m.plan / base.plan).toFixed(1)}x) | ${m.create.toFixed(1)} | ${m.follow.toFixed(0)} | ${m.polls} | ${m.perPoll.toFixed(2)} (${(m.perPoll / base.perPoll).toFixed(1)}x) | ${m.kb.toFixed(0)} |`);
  }
  process.stdout.write(['', '| points | plan + check ms (× 10 points) | create ms | submit + follow ms | polls | ms per poll (× 10 points) | sweep.json KB |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows, ''].join('\n'));
}

void main();
