/**
 * Sweeps without Slurm: the sweep and slurm sections' validation (fields, did-you-mean, lines),
 * the expansion into points (counts, order, keys, random draws, startFrom), the Slurm output
 * parsers on outputs captured from Slurm 22.05, the batch script, and the local engine end to end
 * with the built CLI: a 4-point tiny sweep (2 seeds) completes with one teacher trained, a second
 * call skips every point, a bad point is refused before anything is written, a cancelled sweep
 * leaves every point cancelled or completed and resumes to completion, a variant that starts from
 * another runs only its stages from that point's run folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkExperimentText, validateSlurmSpec, validateSweepSpec, type SweepSpec } from '../src/trainer/config';
import { planPoints, pointsHash, valueCombinations } from '../src/trainer/sweep/expand';
import { arrayList, batchScript, parseSacct, parseSbatch, parseScontrolJobs, parseSqueue, pointStateOf, slurmSeconds } from '../src/trainer/sweep/slurm';
import { listSweeps, type SweepManifest } from '../src/common/sweepFormat';
import type { RunStatus } from '../src/common/runFormat';
import { cleanupTmp, readJson, runCli, tmpDir, writeExperiment } from './helpers/cli';

after(cleanupTmp);

test('sweep section: unknown keys and config paths with did-you-mean, grid values checked against the field, seeds, variants, startFrom', () => {
  const paths = (s: unknown) => validateSweepSpec(s).map((e) => e.path);
  assert.deepEqual(validateSweepSpec({ grid: { 'distill.temperature': [1, 2] }, seeds: 2 }), []);
  const typo = validateSweepSpec({ gird: {} });
  assert.equal(typo[0].path, 'sweep.gird');
  assert.match(typo[0].message, /did you mean "grid"/);
  const badPath = validateSweepSpec({ grid: { 'distill.temprature': [1] } });
  assert.equal(badPath[0].path, 'sweep.grid["distill.temprature"]');
  assert.match(badPath[0].message, /unknown config path "distill.temprature" \(did you mean "distill.temperature"\?\)/);
  assert.deepEqual(badPath[0].suggestion, { of: 'key', text: 'distill.temperature' });
  // A value the field refuses: the path names the value's position.
  const range = validateSweepSpec({ grid: { 'stages.dft.loss.rel': [0, -1] } });
  assert.equal(range.length, 1);
  assert.equal(range[0].path, 'sweep.grid["stages.dft.loss.rel"][1]');
  assert.match(range[0].expected, /≥ 0/);
  assert.match(validateSweepSpec({ grid: { 'distill.divergence': ['forward_kl', 'bogus'] } })[0].path, /\[1\]$/);
  assert.deepEqual(paths({ grid: { seed: [1, 2] } }), ['sweep.grid.seed']);
  assert.deepEqual(paths({ grid: { distill: [1] } }), ['sweep.grid.distill'], 'a section is not a field');
  assert.deepEqual(paths({ grid: { 'distill.temperature': [] } }), ['sweep.grid["distill.temperature"]']);
  assert.deepEqual(paths({ grid: { 'distill.temperature': [1, 1] } }), ['sweep.grid["distill.temperature"]'], 'a duplicate value');
  assert.deepEqual(paths({ seeds: 0 }), ['sweep.seeds']);
  assert.deepEqual(paths({ seeds: [1, 1] }), ['sweep.seeds']);
  assert.deepEqual(paths({ variants: { ok: {}, 'bad name': {} } }), ['sweep.variants["bad name"]']);
  const preset = validateSweepSpec({ variants: { a: 'paper-weigths' } });
  assert.match(preset[0].message, /unknown preset "paper-weigths" \(did you mean "paper-weights"\?\)/);
  assert.deepEqual(paths({ variants: { a: {}, b: {} }, startFrom: { b: { variant: 'c', stages: 'kd' } } }), ['sweep.startFrom.b.variant']);
  assert.deepEqual(paths({ variants: { a: {}, b: {}, c: {} }, startFrom: { b: { variant: 'a', stages: 'kd' }, c: { variant: 'b', stages: 'kd' } } }), ['sweep.startFrom.c.variant'], 'no chains');
  assert.deepEqual(paths({ random: { samples: 2, space: { 'stages.dft.optimizer.lr': { logUniform: [0, 1] } } } }), ['sweep.random.space["stages.dft.optimizer.lr"].logUniform']);
  assert.deepEqual(paths({ random: { samples: 2, space: { 'stages.dft.steps': { uniform: [1, 5] } } } }), ['sweep.random.space["stages.dft.steps"].uniform'], 'fractions for an integer field');
  assert.deepEqual(validateSweepSpec({ random: { samples: 2, seed: 3, space: { 'stages.dft.steps': { int: [1, 5] }, 'distill.divergence': { choice: ['forward_kl', 'reverse_kl'] } } } }), []);
  assert.deepEqual(paths({ parallel: 0, name: 'a b' }), ['sweep.name', 'sweep.parallel']);
});

test('slurm section: partition, time, cpus, mem, extra flags and setup lines', () => {
  assert.deepEqual(validateSlurmSpec({ partition: 'debug', time: '0-01:00:00', cpusPerTask: 2, mem: '4G', extra: ['--qos=normal'], setup: ['module load nodejs'] }), []);
  const e = validateSlurmSpec({ partiton: 'x', time: '1h', cpusPerTask: 0, mem: '4 GB', extra: ['-q normal'] });
  assert.deepEqual(e.map((x) => x.path), ['slurm.partiton', 'slurm.time', 'slurm.cpusPerTask', 'slurm.mem', 'slurm.extra[0]']);
  assert.match(e[0].message, /did you mean "partition"/);
});

test('a sweep mistake in the file is reported at its line, and the config itself stays valid without the sections', () => {
  const text = '{\n  "preset": "tiny",\n  "sweep": {\n    "grid": { "distill.temperature": [1, 0] }\n  },\n  "slurm": { "time": "soon" }\n}\n';
  const { config, errors } = checkExperimentText(text, 'kd-experiment.json');
  assert.equal(config, undefined);
  assert.deepEqual(errors.map((x) => [x.path, x.line]), [['sweep.grid["distill.temperature"][1]', 4], ['slurm.time', 6]]);
  const ok = checkExperimentText('{ "preset": "tiny", "sweep": { "seeds": 2 }, "slurm": {} }', 'x.json');
  assert.ok(ok.config);
  assert.equal((ok.config as unknown as Record<string, unknown>).sweep, undefined, 'the sections are not part of the resolved config');
});

test('points: variants × grid × random draws × seeds, in that order, with keys, groups, diffs and startFrom sources', () => {
  const spec: SweepSpec = {
    grid: { 'distill.temperature': [1, 2, 4] },
    random: { samples: 2, seed: 7, space: { 'stages.dft.optimizer.lr': { logUniform: [1e-4, 1e-2] }, 'distill.divergence': { choice: ['forward_kl', 'reverse_kl'] } } },
    seeds: 2,
    variants: { main: {}, 'no-dpt': { pipeline: { kd: ['sft', 'dft'] } }, paper: 'paper-weights' },
    startFrom: { 'no-dpt': { variant: 'main', stages: 'kd' } },
  };
  const exp = { preset: 'tiny', name: 'e', stages: { dft: { steps: 7 } } };
  const points = planPoints(exp, spec, 0);
  assert.equal(points.length, 3 * 3 * 2 * 2);
  assert.deepEqual(points.map((p) => p.index), points.map((_, i) => i));
  // Seeds are neighbours: a group's points are consecutive.
  assert.equal(points[0].group, points[1].group);
  assert.deepEqual([points[0].seed, points[1].seed], [0, 1]);
  assert.match(points[0].key, /^variant=main distill\.temperature=1 stages\.dft\.optimizer\.lr=[0-9.e-]+ distill\.divergence=(forward|reverse)_kl seed=0$/);
  // The random draws are in range, rounded, reproducible and shared by every variant and grid value.
  const combos = valueCombinations(spec);
  assert.equal(combos.length, 6);
  for (const c of combos) {
    const lr = c['stages.dft.optimizer.lr'] as number;
    assert.ok(lr >= 1e-4 && lr <= 1e-2, `${lr}`);
    assert.equal(lr, Number(lr.toPrecision(6)));
  }
  assert.deepEqual(valueCombinations(spec), combos);
  assert.notDeepEqual(valueCombinations({ ...spec, random: { ...spec.random!, seed: 8 } }), combos);
  // Diffs: the experiment's, with the variant merged (or its preset), the values set and the seed.
  const p = points.find((x) => x.variant === 'no-dpt' && x.seed === 1 && x.values['distill.temperature'] === 4)!;
  assert.deepEqual(p.diff.pipeline, { kd: ['sft', 'dft'] });
  assert.equal((p.diff.stages as { dft: { steps: number; optimizer: { lr: number } } }).dft.steps, 7, 'the experiment\'s own fields are kept');
  assert.equal((p.diff.distill as { temperature: number }).temperature, 4);
  assert.equal(p.diff.seed, 1);
  const src = points[p.from!];
  assert.deepEqual([src.variant, src.seed, src.values], ['main', 1, p.values], 'starts from main of the same seed and values');
  assert.equal(p.stages, 'kd');
  assert.equal(points.find((x) => x.variant === 'paper')!.diff.preset, 'paper-weights');
  assert.equal(exp.stages.dft.steps, 7, 'the experiment JSON is not mutated');
  // The hash follows what the points run, nothing else.
  assert.equal(pointsHash(points), pointsHash(planPoints(exp, spec, 0)));
  assert.notEqual(pointsHash(points), pointsHash(planPoints({ ...exp, name: 'other' }, spec, 0)));
  assert.throws(() => planPoints(exp, { grid: { 'distill.temperature': Array.from({ length: 101 }, (_, i) => i + 1), 'stages.dft.steps': Array.from({ length: 101 }, (_, i) => i + 1) } }, 0), /10201 points, over the limit of 10000/);
});

test('Slurm outputs (as Slurm 22.05 prints them): sbatch, squeue, scontrol, sacct; states, durations, array lists', () => {
  assert.equal(parseSbatch('17\n'), '17');
  assert.equal(parseSbatch('17;cluster\n'), '17');
  assert.throws(() => parseSbatch('sbatch: error: Batch job submission failed\n'), /not a job id/);
  assert.deepEqual(parseSqueue('1_0|PENDING|0:00|(None)\n1_3|RUNNING|0:03|localhost\n'), [
    { jobId: '1_0', state: 'PENDING', elapsed: '0:00', reason: '(None)' },
    { jobId: '1_3', state: 'RUNNING', elapsed: '0:03', reason: 'localhost' },
  ]);
  const sc = 'JobId=3 ArrayJobId=1 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=arr.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:04 TimeLimit=UNLIMITED\n'
    + 'JobId=1 ArrayJobId=1 ArrayTaskId=3 JobState=CANCELLED Reason=None ExitCode=0:15 RunTime=00:00:02\n'
    + 'JobId=9 ArrayJobId=9 ArrayTaskId=4-7%2 JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0\n';
  assert.deepEqual(parseScontrolJobs(sc).map((j) => [j.jobId, j.state, j.exitCode]), [['1_2', 'COMPLETED', '0:0'], ['1_3', 'CANCELLED', '0:15'], ['9', 'PENDING', '0:0']]);
  assert.deepEqual(parseSacct('5_0|COMPLETED|0:0|00:00:12\n5_1|CANCELLED by 0|0:0|00:00:03\n').map((r) => [r.jobId, r.state]), [['5_0', 'COMPLETED'], ['5_1', 'CANCELLED']]);
  assert.deepEqual(['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED', 'CANCELLED', 'CANCELLED+', 'TIMEOUT', 'PREEMPTED', 'FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY'].map(pointStateOf),
    ['pending', 'running', 'running', 'completed', 'cancelled', 'cancelled', 'timeout', 'timeout', 'failed', 'failed', 'failed']);
  assert.deepEqual(['12', '3:04', '1:02:03', '2-01:02:03', 'x'].map(slurmSeconds), [12, 184, 3723, 176523, undefined]);
  assert.equal(arrayList([5, 0, 1, 2, 3, 7, 8, 10]), '0-3,5,7-8,10');
});

test('batch script: one array task per point, the resources, the dependency, exec of the point command', () => {
  const text = batchScript({
    name: 'llava-kd-s', tasks: new Map([[0, 4], [1, 5], [3, 9]]), parallel: 2, logDir: '/x/logs', sweepDir: "/x/it's", node: '/usr/bin/node', cli: '/opt/cli.js',
    spec: { partition: 'gpu', time: '01:00:00', cpusPerTask: 2, mem: '4G', extra: ['--qos=normal'], setup: ['module load nodejs'] }, afterCorr: '77',
  });
  for (const l of ['#SBATCH --array=0-1,3%2', '#SBATCH --output=/x/logs/slurm-%A_%a.out', '#SBATCH --partition=gpu', '#SBATCH --time=01:00:00', '#SBATCH --cpus-per-task=2', '#SBATCH --mem=4G', '#SBATCH --dependency=aftercorr:77', '#SBATCH --kill-on-invalid-dep=yes', '#SBATCH --qos=normal', 'module load nodejs', '  3) POINT=9 ;;']) {
    assert.ok(text.split('\n').includes(l), `${l}\n${text}`);
  }
  assert.match(text, /^exec '\/usr\/bin\/node' '\/opt\/cli.js' sweep-point '\/x\/it'\\''s' "\$POINT" --json$/m);
  // No directive after the first command: sbatch stops reading #SBATCH lines there.
  const lines = text.split('\n');
  const firstCommand = lines.findIndex((l) => l && !l.startsWith('#'));
  assert.ok(lines.slice(firstCommand).every((l) => !l.startsWith('#SBATCH')));
});

// ------------------------------------------------------------------ the local engine, end to end

const tinySweep = (sweep: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ preset: 'tiny', name: 'sw', teacher: { cache: 'reuse' }, ...extra, sweep });

function onlySweep(dir: string): { dir: string; manifest: SweepManifest } {
  const all = listSweeps(dir);
  assert.equal(all.length, 1);
  assert.ok(all[0].ok);
  return { dir: all[0].dir, manifest: (all[0] as { manifest: SweepManifest }).manifest };
}

test('local sweep: 4 points (2 temperatures × 2 seeds) complete, one teacher trained and reused, folders complete; a second call skips them all', { timeout: 300_000 }, async () => {
  const dir = tmpDir('sweep-local');
  const cache = tmpDir('sweep-cache');
  const file = writeExperiment(dir, tinySweep({ name: 'temps', grid: { 'distill.temperature': [1, 2] }, seeds: 2 }));
  const dry = await runCli(['sweep', file, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /4 points: 1 variant × 2 value combinations × 2 seeds/);
  assert.ok(!fs.existsSync(path.join(dir, 'sweeps')), 'a dry run writes nothing');
  const r = await runCli(['sweep', file, '--parallel', '2', '--poll', '300', '--json'], { env: { LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 280_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const events = r.lines.map((l) => JSON.parse(l) as { event: string; state?: string; counts?: Record<string, number> });
  assert.equal(events.at(-1)!.event, 'sweep-finished');
  assert.equal(events.at(-1)!.counts!.completed, 4);
  const { dir: sweepDir, manifest } = onlySweep(dir);
  assert.equal(manifest.state, 'completed');
  assert.deepEqual(manifest.points.map((p) => p.state), ['completed', 'completed', 'completed', 'completed']);
  let trained = 0;
  for (const p of manifest.points) {
    const run = path.join(dir, 'runs', p.runId);
    const status = readJson<RunStatus>(path.join(run, 'status.json'));
    assert.equal(status.state, 'completed');
    assert.deepEqual(status.job && [status.job.engine, status.job.sweep, status.job.point, status.job.attempt], ['local', manifest.id, p.index, 1]);
    const cfg = readJson<{ seed: number; distill: { temperature: number }; sweepPoint: { key: string; index: number } }>(path.join(run, 'config.json'));
    assert.deepEqual([cfg.seed, cfg.distill.temperature, cfg.sweepPoint.index, cfg.sweepPoint.key], [p.seed, p.values['distill.temperature'], p.index, p.key]);
    assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'kd-dft.safetensors')));
    assert.ok(fs.readFileSync(path.join(run, 'eval.jsonl'), 'utf8').includes('"split":"test"'));
    assert.ok(fs.existsSync(p.stdout!) && fs.existsSync(p.stderr!));
    if (status.teacherStore?.source === 'trained') trained++;
  }
  assert.equal(trained, 1, 'the points share one teacher: one trained it, the others waited and reused it');
  const again = await runCli(['sweep', file, '--json'], { env: { LLAVA_KD_CACHE_DIR: cache } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /"event":"sweep-started".*"skipped":4,"resumed":true/);
  assert.equal(onlySweep(dir).dir, sweepDir, 'the same sweep, resumed');
});

test('a point the config refuses: exit 2 naming the point and the field, nothing written', async () => {
  const dir = tmpDir('sweep-bad');
  // Each value is valid alone; together with the experiment's own student size one point is not.
  const file = writeExperiment(dir, tinySweep({ grid: { 'student.lm.heads': [2, 3] } }));
  const r = await runCli(['sweep', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /sweep point 1 \(variant=main student\.lm\.heads=3 seed=\d+\)/);
  assert.ok(!fs.existsSync(path.join(dir, 'sweeps')) && !fs.existsSync(path.join(dir, 'runs')));
  const noSection = await runCli(['sweep', writeExperiment(tmpDir('sweep-none'), { preset: 'tiny' })]);
  assert.equal(noSection.code, 2);
  assert.match(noSection.stderr, /no "sweep" section/);
});

test('a cancelled local sweep leaves every point cancelled or completed; resuming it completes them, the stopped ones from their checkpoints', { timeout: 300_000 }, async () => {
  const dir = tmpDir('sweep-cancel');
  const cache = tmpDir('sweep-cache2');
  // Long SFT stages (checkpoint every 10 steps) so that the cancel lands mid-run.
  const file = writeExperiment(dir, tinySweep({ name: 'long', seeds: 4, parallel: 2 }, { stages: { sft: { steps: 400, checkpointEvery: 10 } } }));
  let cancelled = false;
  const r = await runCli(['sweep', file, '--poll', '200', '--json'], {
    env: { LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 250_000,
    onEvent: (e, child) => {
      const ev = e as unknown as { event: string; state?: string };
      if (!cancelled && ev.event === 'sweep-point' && ev.state === 'running') {
        cancelled = true;
        // Let the first points get into their stages, then cancel the sweep as the extension does (SIGTERM).
        setTimeout(() => child.kill('SIGTERM'), 4000);
      }
    },
  });
  assert.equal(r.code, 130, r.stderr + r.stdout.slice(-2000));
  const { manifest } = onlySweep(dir);
  assert.equal(manifest.state, 'cancelled');
  const states = manifest.points.map((p) => p.state);
  assert.ok(states.every((s) => s === 'cancelled' || s === 'completed'), states.join(','));
  assert.ok(states.includes('cancelled'));
  const stopped = manifest.points.filter((p) => p.state === 'cancelled' && fs.existsSync(path.join(dir, 'runs', p.runId, 'status.json')));
  assert.ok(stopped.length >= 1, 'a point was stopped mid-run');
  for (const p of stopped) assert.equal(readJson<RunStatus>(path.join(dir, 'runs', p.runId, 'status.json')).state, 'stopped');
  const resumed = await runCli(['sweep', file, '--poll', '200'], { env: { LLAVA_KD_CACHE_DIR: cache }, timeoutMs: 250_000 });
  assert.equal(resumed.code, 0, resumed.stderr.slice(-3000));
  const after = onlySweep(dir).manifest;
  assert.deepEqual(after.points.map((p) => p.state), ['completed', 'completed', 'completed', 'completed']);
  for (const p of stopped) {
    const st = readJson<RunStatus>(path.join(dir, 'runs', p.runId, 'status.json'));
    assert.equal(st.job!.attempt, 2, 'resumed in the same run folder');
    assert.match(fs.readFileSync(path.join(dir, 'runs', p.runId, 'train.log'), 'utf8'), /resuming run/);
  }
});

test('startFrom: the ablation variant runs only its kd stages, from the main point of the same seed', { timeout: 300_000 }, async () => {
  const dir = tmpDir('sweep-from');
  const file = writeExperiment(dir, tinySweep({ variants: { main: {}, 'pt-dft': { pipeline: { kd: ['pt', 'dft'] } } }, startFrom: { 'pt-dft': { variant: 'main', stages: 'kd' } }, seeds: [3] }));
  const r = await runCli(['sweep', file, '--parallel', '2', '--poll', '200'], { timeoutMs: 250_000 });
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const { manifest } = onlySweep(dir);
  const [main, abl] = manifest.points;
  assert.equal(abl.from, main.index);
  const st = readJson<RunStatus>(path.join(dir, 'runs', abl.runId, 'status.json'));
  assert.deepEqual(st.stages, ['kd/pt', 'kd/dft']);
  assert.equal(st.from, path.join(dir, 'runs', main.runId));
  assert.ok(Date.parse(readJson<RunStatus>(path.join(dir, 'runs', main.runId, 'status.json')).endedAt!) <= Date.parse(st.startedAt), 'after its source completed');
});
