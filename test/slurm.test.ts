/**
 * Sweeps on a real Slurm: a single-node cluster started from Debian's packages on this machine
 * (test/helpers/slurmCluster.ts; installed with apt when missing). A 4-point tiny sweep (2
 * temperatures × 2 seeds) runs as a job array; one array task is killed mid-run with scancel and
 * ends `cancelled` while the others complete; resubmitting the sweep resumes that point from its
 * checkpoint in the same run folder, and every folder is complete with its job recorded. A
 * sweep cancelled as a whole (sweep-cancel) leaves every point cancelled or completed. Missing
 * sbatch, an unknown partition and a refused submission are clear errors, recorded where a
 * submission was attempted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listSweeps, type SweepManifest } from '../src/common/sweepFormat';
import type { RunStatus } from '../src/common/runFormat';
import { cleanupTmp, readJson, runCli, tmpDir, writeExperiment } from './helpers/cli';
import { startSlurmCluster, type SlurmCluster } from './helpers/slurmCluster';

let cluster: SlurmCluster;
before(() => { cluster = startSlurmCluster(); });
after(() => { cluster?.stop(); cleanupTmp(); });

const env = (): Record<string, string> => ({ SLURM_CONF: cluster.conf });
const slurm = (cmd: string, args: string[]) => spawnSync(cmd, args, { env: cluster.env, encoding: 'utf8' });

function onlySweep(dir: string): SweepManifest {
  const all = listSweeps(dir);
  assert.equal(all.length, 1);
  assert.ok(all[0].ok, JSON.stringify(all[0]));
  return (all[0] as { manifest: SweepManifest }).manifest;
}

const longTiny = (sweep: Record<string, unknown>, slurmSection: Record<string, unknown> = { partition: 'debug', time: '00:20:00' }) => ({
  preset: 'tiny', name: 'slurm', teacher: { cache: 'reuse' },
  // A long SFT stage with a checkpoint every 10 steps, so that a kill lands mid-run after one.
  stages: { sft: { steps: 400, checkpointEvery: 10 } },
  sweep, slurm: slurmSection,
});

test('Slurm: a 4-point sweep as a job array; one task killed mid-run (scancel) ends cancelled, the rest complete; resubmission resumes it from its checkpoint', { timeout: 600_000 }, async () => {
  const dir = tmpDir('slurm-sweep');
  const cache = tmpDir('slurm-cache');
  const file = writeExperiment(dir, longTiny({ name: 'temps', grid: { 'distill.temperature': [1, 2] }, seeds: 2 }));
  let killed: string | undefined;
  const first = await runCli(['sweep', file, '--engine', 'slurm', '--poll', '500', '--json'], {
    env: { ...env(), LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 400_000,
    onEvent: (e) => {
      const ev = e as unknown as { event: string; index?: number; state?: string; jobId?: string; runDir?: string };
      if (killed || ev.event !== 'sweep-point' || ev.state !== 'running' || ev.index !== 0) return;
      killed = ev.jobId;
      // Once point 0 has written a resumable checkpoint in its SFT stage, scancel its array task.
      const deadline = Date.now() + 120_000;
      const timer = setInterval(() => {
        const st = fs.existsSync(path.join(ev.runDir!, 'status.json')) ? readJson<RunStatus>(path.join(ev.runDir!, 'status.json')) : undefined;
        if ((st?.stage?.endsWith('/sft') && st.step >= 20) || Date.now() > deadline) {
          clearInterval(timer);
          slurm('scancel', [ev.jobId!]);
        }
      }, 200);
    },
  });
  assert.ok(killed, 'point 0 ran as an array task');
  assert.match(killed!, /^\d+_\d+$/);
  assert.equal(first.code, 1, `not every point completed: exit 1\n${first.stderr}${first.stdout.slice(-3000)}`);
  let m = onlySweep(dir);
  assert.equal(m.engine, 'slurm');
  assert.equal(m.jobs!.length, 1);
  assert.deepEqual(m.points.map((p) => p.state), ['cancelled', 'completed', 'completed', 'completed']);
  const p0 = m.points[0];
  assert.equal(p0.jobId, killed);
  const run0 = path.join(dir, 'runs', p0.runId);
  const stopped = readJson<RunStatus>(path.join(run0, 'status.json'));
  assert.equal(stopped.state, 'stopped', 'the trainer got SIGTERM, checkpointed and stopped');
  assert.ok(fs.existsSync(path.join(run0, 'checkpoints', 'resume.safetensors')));
  const stoppedAt = stopped.globalStep;

  const second = await runCli(['sweep', file, '--engine', 'slurm', '--poll', '500', '--json'], { env: { ...env(), LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 400_000 });
  assert.equal(second.code, 0, second.stderr + second.stdout.slice(-3000));
  assert.match(second.stdout, /"skipped":3,"resumed":true/);
  m = onlySweep(dir);
  assert.equal(m.state, 'completed');
  assert.equal(m.jobs!.length, 2, 'the resubmission is a second array of one task');
  assert.deepEqual(m.jobs![1].points, [0]);
  assert.equal(m.points[0].attempts, 2);
  for (const p of m.points) {
    const run = path.join(dir, 'runs', p.runId);
    const st = readJson<RunStatus>(path.join(run, 'status.json'));
    assert.equal(st.state, 'completed', p.runId);
    assert.equal(st.job!.engine, 'slurm');
    assert.equal(st.job!.jobId, p.jobId, 'the run folder records the array task of its latest attempt');
    assert.ok(st.job!.slurmJobId && /^\d+$/.test(st.job!.slurmJobId));
    assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'kd-dft.safetensors')));
    assert.ok(fs.readFileSync(path.join(run, 'eval.jsonl'), 'utf8').includes('"split":"test"'));
    assert.ok(fs.existsSync(p.stdout!), `${p.stdout}`);
  }
  const resumed = readJson<RunStatus>(path.join(run0, 'status.json'));
  assert.equal(resumed.job!.attempt, 2);
  assert.notEqual(resumed.job!.jobId, killed);
  const log = fs.readFileSync(path.join(run0, 'train.log'), 'utf8');
  const line = /resuming run \S+ at (\w+\/sft) step (\d+)/.exec(log);
  assert.ok(line && Number(line[2]) >= 20, `resumed from its SFT checkpoint, not from scratch: ${line?.[0] ?? 'no "resuming run" line'}`);
  assert.ok(stoppedAt > 0);
});

test('Slurm: sweep-cancel of a running sweep: scancel, every point cancelled or completed, exit 130', { timeout: 300_000 }, async () => {
  const dir = tmpDir('slurm-cancel');
  const file = writeExperiment(dir, longTiny({ name: 'cancel', seeds: 4 }));
  let sent = false;
  const r = await runCli(['sweep', file, '--engine', 'slurm', '--poll', '500', '--json'], {
    env: env(), timeoutMs: 250_000,
    onEvent: (e) => {
      const ev = e as unknown as { event: string; state?: string; runDir?: string };
      if (sent || ev.event !== 'sweep-point' || ev.state !== 'running') return;
      sent = true;
      setTimeout(() => { void runCli(['sweep-cancel', path.join(dir, 'sweeps', onlySweep(dir).id)], { env: env() }); }, 3000);
    },
  });
  assert.equal(r.code, 130, r.stderr + r.stdout.slice(-3000));
  const m = onlySweep(dir);
  assert.equal(m.state, 'cancelled');
  const states = m.points.map((p) => p.state);
  assert.ok(states.every((s) => s === 'cancelled' || s === 'completed'), states.join(','));
  assert.ok(states.filter((s) => s === 'cancelled').length >= 2, states.join(','));
  const q = slurm('squeue', ['-h', '-r', '-o', '%i|%T']);
  assert.equal(q.stdout.trim(), '', `nothing left in the queue: ${q.stdout}`);
});

test('Slurm errors: sbatch missing and an unknown partition are refused before anything is written; a refused submission is recorded', { timeout: 120_000 }, async () => {
  const dir = tmpDir('slurm-errors');
  const file = writeExperiment(dir, longTiny({ seeds: 2 }));
  const missing = await runCli(['sweep', file, '--engine', 'slurm'], { env: { ...env(), PATH: '/nonexistent' } });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /sbatch not found on PATH/);
  const badPart = writeExperiment(tmpDir('slurm-part'), longTiny({ seeds: 2 }, { partition: 'nope' }));
  const part = await runCli(['sweep', badPart, '--engine', 'slurm'], { env: env() });
  assert.equal(part.code, 2);
  assert.match(part.stderr, /slurm\.partition: the cluster has no partition "nope"; it has: debug/);
  for (const d of [dir, path.dirname(badPart)]) assert.ok(!fs.existsSync(path.join(d, 'sweeps')) && !fs.existsSync(path.join(d, 'runs')), 'nothing written');

  const refused = writeExperiment(tmpDir('slurm-refused'), longTiny({ seeds: 2 }, { extra: ['--no-such-sbatch-option=1'] }));
  const r = await runCli(['sweep', refused, '--engine', 'slurm'], { env: env() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /submission 1 .* refused: sbatch --parsable/);
  const m = onlySweep(path.dirname(refused));
  assert.equal(m.state, 'failed');
  assert.match(m.error!, /refused/);
  assert.deepEqual(m.points.map((p) => p.state), ['planned', 'planned'], 'nothing submitted, and the record says so');
  assert.equal(m.jobs, undefined);
  assert.ok(fs.existsSync(path.join(path.dirname(refused), 'sweeps', m.id, 'slurm', 'sweep-1.sbatch')));
});
