// Tests of the sweep rows of the Experiments tree (src/host/core/sweepTreeModel.ts through
// experimentTree.ts buildTree) on hand-made sweep and run folders read from disk as the run store
// reads them (runsOf, sweepsOf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExperimentSummary } from '../src/host/core/runModel';
import { buildTree } from '../src/host/core/experimentTree';
import { runsOf } from '../src/host/core/runSummaries';
import { sweepsOf } from '../src/host/core/sweepModel';
import { groupState } from '../src/host/core/sweepTreeModel';
import { PLAIN_RUN, SWEEP_ID, manifest, point, standardSweep, tempExperiment, writeManifest, writeRun } from './helpers/sweepFixture';

const NOW = Date.parse('2025-03-01T12:02:00.000Z');

function experiment(dir: string, file: string): ExperimentSummary {
  return { file, dir, name: path.basename(dir), label: 'e', runs: runsOf(dir), sweeps: sweepsOf(dir) };
}

test('the sweep comes first under its experiment; its runs are not repeated among the ordinary runs', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  standardSweep(e.dir);
  const [exp] = buildTree([experiment(e.dir, e.file)], NOW);
  assert.deepEqual(exp.children.map((c) => [c.kind, c.label]), [['sweep', 'grid-T'], ['run', PLAIN_RUN]]);
  assert.equal(exp.description, '4 runs · 1 sweep · 1 running', 'every run folder counts');
  const sweep = exp.children[0];
  assert.equal(sweep.description, '2/4 completed · 1 running · local');
  assert.equal(sweep.icon.id, 'sync~spin');
  assert.equal(sweep.contextValue, 'sweep.running.cancellable');
  assert.equal(sweep.collapsible, 'expanded');
  assert.equal(sweep.sweepDir, path.join(e.dir, 'sweeps', SWEEP_ID));
  assert.deepEqual(sweep.runDirs, [0, 1, 2].map((i) => path.join(e.dir, 'runs', `${SWEEP_ID}-p00${i}`)));
});

test('groups: label without variant=, seeds and counts; their points are the run rows, with the queue state, job id and elapsed time', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  standardSweep(e.dir);
  const sweep = buildTree([experiment(e.dir, e.file)], NOW)[0].children[0];
  assert.deepEqual(sweep.children.map((g) => [g.label, g.description, g.icon.id, g.contextValue]), [
    ['distill.temperature=1', '2 seeds · 2/2 completed', 'pass', 'sweepGroup'],
    ['distill.temperature=2', '2 seeds · 0/2 completed · 1 running', 'sync~spin', 'sweepGroup'],
  ]);
  const [t1, t2] = sweep.children;
  assert.deepEqual(t1.runDirs?.length, 2);
  // A completed point: the run row (label, icon, stage children, dashboard on click) with the point's facts first.
  const p0 = t1.children[0];
  assert.equal(p0.kind, 'run');
  assert.equal(p0.label, 'p000', 'the point name, readable at the sidebar width (the run id is in the tooltip)');
  assert.ok((p0.tooltip ?? '').replace(/\\/g, '').includes(`${SWEEP_ID}-p000`), 'the run id in the tooltip');
  assert.equal(p0.description, 'seed 0 · 1m 5s · completed · kd 71.0%', 'the point\'s state is the run\'s: said once');
  assert.equal(p0.contextValue, 'run.completed.point');
  assert.equal(p0.command?.id, 'llavaKd.openDashboard');
  assert.deepEqual(p0.children.map((c) => c.label), ['kd/dft']);
  assert.equal(p0.pointIndex, 0);
  assert.match(p0.tooltip ?? '', /^\*\*p000\*\* of sweep grid\\-T — COMPLETED\n\nKey: variant=main distill\\\.temperature=1 seed=0\n\n/);
  assert.match(p0.tooltip ?? '', /\n\n---\n\n\*\*20250301\\-120000\\-grid\\-T\\-p000\*\* — completed/, 'then the run\'s own tooltip');
  // Running: elapsed to now.
  const p2 = t2.children[0];
  assert.equal(p2.description, 'seed 0 · 2m · kd/dft 3/10 · 30%');
  assert.equal(p2.contextValue, 'run.running.point');
  // Not started: a plain row.
  const p3 = t2.children[1];
  assert.deepEqual([p3.kind, p3.label, p3.description, p3.icon.id, p3.contextValue, p3.collapsible], ['sweepPoint', 'p003', 'seed 1 · planned', 'circle-outline', 'sweepPoint.planned', 'none']);
  assert.match(p3.tooltip ?? '', /Run folder \(not created yet\): /);
});

test('Slurm: job ids on the points and in the sweep tooltip; a queue state differing from the run\'s is shown', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  const d = path.join(e.dir, 'sweeps', SWEEP_ID);
  const points = [
    point(d, 0, 'completed', { jobId: '812_0' }),
    // Requeued after a timeout: the old run folder says failed, the queue says pending.
    point(d, 1, 'pending', { jobId: '815_1', attempts: 2, startedAt: undefined, endedAt: undefined }),
    point(d, 2, 'timeout', { jobId: '812_2', error: 'Slurm TIMEOUT' }),
    point(d, 3, 'pending', { jobId: '812_3' }),
  ];
  writeManifest(e.dir, manifest(e.dir, points, {
    engine: 'slurm', parallel: 0, state: 'running', followerPid: 1, followerHost: 'login7',
    jobs: [{ jobId: '812', script: path.join(d, 'slurm', 'sweep-1.sbatch'), points: [0, 1, 2, 3], submittedAt: '2025-03-01T12:00:00Z' }, { jobId: '815', script: path.join(d, 'slurm', 'sweep-2.sbatch'), points: [1], submittedAt: '2025-03-01T12:01:00Z' }],
  }));
  writeRun(e.dir, points[0].runId, {});
  writeRun(e.dir, points[1].runId, { state: 'failed', error: 'killed' });
  const sweep = buildTree([experiment(e.dir, e.file)], NOW)[0].children[0];
  assert.equal(sweep.description, '1/4 completed · 2 pending · 1 timeout · slurm');
  assert.match(sweep.tooltip ?? '', /Slurm jobs: 812 \(4 points, submitted [^)]*\), 815 \(1 point, submitted [^)]*\)/);
  assert.match(sweep.tooltip ?? '', /Followed by pid 1 on login7/, 'another host: not judged dead');
  const [t1, t2] = sweep.children;
  assert.equal(t1.icon.id, 'clock', 'a group with a pending point waits');
  assert.equal(t1.children[1].description, 'seed 1 · PENDING · job 815_1 · failed at kd/dft 10/10 · 100%');
  assert.match(t1.children[1].tooltip ?? '', /Slurm job: 815\\_1 \(submission 2\)/);
  assert.equal(t2.icon.id, 'watch');
  assert.deepEqual([t2.children[0].kind, t2.children[0].description], ['sweepPoint', 'seed 0 · timeout · job 812_2 · 1m 5s · Slurm TIMEOUT']);
  assert.equal(t2.children[1].description, 'seed 1 · pending · job 812_3');
});

test('a point running on a Slurm compute node stays running (its pid is not judged here), its host in the tooltip', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  const d = path.join(e.dir, 'sweeps', SWEEP_ID);
  const p = point(d, 0, 'running', { jobId: '900_0' });
  writeManifest(e.dir, manifest(e.dir, [p], { engine: 'slurm', followerPid: 1, followerHost: 'login-elsewhere' }));
  const job = { sweep: SWEEP_ID, point: 0, engine: 'slurm' as const, jobId: '900_0', attempt: 1 };
  writeRun(e.dir, p.runId, { state: 'running', completedStages: [], step: 2, globalStep: 2, pid: 999_999_999, job: { ...job, host: 'node17elsewhere' } });
  const row = buildTree([experiment(e.dir, e.file)], NOW)[0].children[0].children[0].children[0];
  assert.equal(row.contextValue, 'run.running.point');
  assert.equal(row.description, 'seed 0 · job 900_0 · 2m · kd/dft 2/10 · 20%');
  assert.match(row.tooltip ?? '', /\n\nHost: node17elsewhere\n\n/);
  // The same dead pid on this host: the crash shows.
  writeRun(e.dir, p.runId, { state: 'running', completedStages: [], pid: 999_999_999, job: { ...job, host: os.hostname() } });
  assert.equal(buildTree([experiment(e.dir, e.file)], NOW)[0].children[0].children[0].children[0].contextValue, 'run.failed.point');
});

test('a finished sweep, a dead follower, an unreadable manifest; an experiment with only a sweep has no "No runs yet" row', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  const d = path.join(e.dir, 'sweeps', SWEEP_ID);
  writeManifest(e.dir, manifest(e.dir, [point(d, 0, 'planned')], { state: 'running', followerPid: 999_999_999, followerHost: undefined }));
  const [exp] = buildTree([experiment(e.dir, e.file)], NOW);
  assert.deepEqual(exp.children.map((c) => c.kind), ['sweep']);
  assert.equal(exp.children[0].description, 'stopped · 0/1 completed · local');
  assert.equal(exp.children[0].contextValue, 'sweep.stopped');
  assert.match(exp.children[0].tooltip ?? '', /is gone: run the sweep again to resume it/);

  writeManifest(e.dir, manifest(e.dir, [point(d, 0, 'completed'), point(d, 1, 'cancelled')], { state: 'cancelled' }));
  const done = buildTree([experiment(e.dir, e.file)], NOW)[0].children[0];
  assert.deepEqual([done.icon.id, done.contextValue, done.collapsible, done.description], ['circle-slash', 'sweep.cancelled', 'collapsed', '1/2 completed · 1 cancelled · local']);

  writeManifest(e.dir, { ...manifest(e.dir, []), id: '20250302-000000-x', points: 'no' as never });
  const bad = buildTree([experiment(e.dir, e.file)], NOW)[0].children[0];
  assert.deepEqual([bad.label, bad.description, bad.icon.id, bad.contextValue], ['20250302-000000-x', 'unreadable sweep.json', 'warning', 'sweep.unreadable']);
  assert.match(bad.tooltip ?? '', /not a sweep manifest/);
});

test('group state: running first, then the worst end, completed only when all are', () => {
  const d = '/w/e/sweeps/s';
  const g = (...s: string[]) => groupState(s.map((x, i) => point(d, i, x as never)));
  assert.equal(g('completed', 'running', 'failed'), 'running');
  assert.equal(g('completed', 'failed'), 'failed');
  assert.equal(g('completed', 'cancelled'), 'cancelled');
  assert.equal(g('completed', 'completed'), 'completed');
  assert.equal(g('completed', 'planned'), 'pending');
  assert.equal(g('planned', 'planned'), 'planned');
});
