/**
 * Exact resume of the built CLI on the tiny preset: a run stopped by SIGTERM mid-stage (exit 130,
 * state `stopped`, resume checkpoint at the stop step) and a run killed by SIGKILL (status left
 * `running` with a dead pid, resumed from the last periodic checkpoint) both finish, after
 * `llava-kd resume`, with the same metrics, evals and weights as an uninterrupted run; and a
 * campaign of SIGKILLs at seeded random points (some inside writes), resumed after each.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../src/common/random';
import type { EvalLine, MetricsLine, RunStatus, TrainerEvent } from '../src/common/runFormat';
import { effectiveState } from '../src/common/runReader';
import { loadCheckpoint } from '../src/trainer/io/checkpoint';
import {
  cleanupTmp, compareGroup, explain, parseEvents, readJson, readJsonlStrict, runCli, runDirs, tensorBytes, tmpDir,
  writeExperiment, type CliResult,
} from './helpers/cli';

const CKPT_EVERY = 3;
const KD = ['kd/dpt', 'kd/sft', 'kd/dft'];
let expDir: string;
let expFile: string;
let pretrained: string;
let runA: string;
let metricsA: MetricsLine[];

const key = (m: { stage: string; step: number }) => `${m.stage}@${m.step}`;
const newRunDir = (known: string[]) => runDirs(expDir).find((d) => !known.includes(d))!;
const kdArgs = () => ['run', expFile, '--json', '--backend', 'wasm', '--stages', 'kd', '--from', pretrained];

/** Loss terms and grad norm of two metrics lines are equal (they should be bit-identical). */
function assertSameStep(got: MetricsLine, want: MetricsLine): void {
  assert.equal(key(got), key(want));
  assert.equal(got.globalStep, want.globalStep, `${key(got)} globalStep`);
  assert.equal(got.lr, want.lr, `${key(got)} lr`);
  assert.deepEqual(got.loss, want.loss, `${key(got)} loss differs from the uninterrupted run`);
  assert.deepEqual(got.weighted, want.weighted, `${key(got)} weighted`);
  assert.equal(got.gradNorm, want.gradNorm, `${key(got)} gradNorm`);
}

function assertSameFinalWeights(dir: string): void {
  const x = tensorBytes(path.join(dir, 'checkpoints', 'kd-dft.safetensors'));
  const y = tensorBytes(path.join(runA, 'checkpoints', 'kd-dft.safetensors'));
  for (const p of ['projector.', 'lm.', 'vision.']) assert.deepEqual(compareGroup(x, y, p).differ, [], `kd-dft ${p}* differs from the uninterrupted run`);
}

const stripTime = <T extends { time: string }>(rows: T[]) => rows.map(({ time: _t, ...rest }) => rest);

before(async () => {
  expDir = tmpDir('resume');
  // Periodic resume checkpoints every 3 steps in DFT (tiny: 10 steps).
  expFile = writeExperiment(expDir, { preset: 'tiny', stages: { dft: { checkpointEvery: CKPT_EVERY } } });
  const p = await runCli(['run', expFile, '--json', '--backend', 'wasm', '--stages', 'pretrain,teacher']);
  assert.equal(p.code, 0, explain(p));
  pretrained = runDirs(expDir)[0];
  const a = await runCli(kdArgs());
  assert.equal(a.code, 0, explain(a));
  runA = newRunDir([pretrained]);
  metricsA = readJsonlStrict<MetricsLine>(path.join(runA, 'metrics.jsonl'));
  assert.deepEqual([...new Set(metricsA.map((m) => m.stage))], KD);
});
after(cleanupTmp);

/** Resumes `dir` and checks the outcome; returns the resume's result. */
async function resumeAndCheck(dir: string, expectFrom: { stage: string; step: number }): Promise<CliResult> {
  const r = await runCli(['resume', dir, '--json']);
  assert.equal(r.code, 0, explain(r));
  const ev = parseEvents(r);
  const started = ev.find((e) => e.event === 'started') as Extract<TrainerEvent, { event: 'started' }>;
  assert.equal(started.runDir, dir, 'resume continues in the same run folder');
  const msg = ev.filter((e) => e.event === 'log').map((e) => (e as { message: string }).message).find((m) => m.startsWith('resuming run'));
  assert.ok(msg?.includes(`at ${expectFrom.stage} step ${expectFrom.step}`), `resume log: ${msg}`);
  const firstStep = ev.find((e) => e.event === 'step') as MetricsLine | undefined;
  assert.equal(firstStep && key(firstStep), `${expectFrom.stage}@${expectFrom.step + 1}`, 'first step after resuming');
  assert.deepEqual(ev.filter((e) => e.event === 'stage-start').map((e) => [(e as { stage: string }).stage, (e as { step?: number }).step]), [[expectFrom.stage, expectFrom.step]], 'completed stages are not rerun; the stage starts at the resume step (the status bar shows it before the first logged step)');
  const last = ev[ev.length - 1];
  assert.equal(last.event, 'finished');
  assert.equal((last as { state: string }).state, 'completed');
  const st = readJson<RunStatus>(path.join(dir, 'status.json'));
  assert.equal(st.state, 'completed');
  assert.deepEqual(st.completedStages, KD);
  assert.equal(st.error, undefined);
  return r;
}

test('SIGTERM mid-stage: exit 130, state stopped, resume checkpoint at the stop step; resume matches the uninterrupted run exactly', async () => {
  let signalled = false;
  const b = await runCli(kdArgs(), {
    onEvent: (e, child) => {
      if (!signalled && e.event === 'step' && e.stage === 'kd/dft' && e.step === 2) {
        signalled = true;
        child.kill('SIGTERM');
      }
    },
  });
  assert.ok(signalled, 'never saw kd/dft step 2');
  assert.equal(b.code, 130, explain(b));
  const runB = newRunDir([pretrained, runA]);
  const ev = parseEvents(b);
  const last = ev[ev.length - 1];
  assert.equal(last.event, 'finished');
  assert.equal((last as { state: string }).state, 'stopped');
  const st = readJson<RunStatus>(path.join(runB, 'status.json'));
  assert.equal(st.state, 'stopped');
  assert.equal(st.stage, 'kd/dft');
  assert.deepEqual(st.completedStages, ['kd/dpt', 'kd/sft']);
  const k = st.step;
  assert.ok(k >= 2 && k < 10, `stopped at kd/dft step ${k}`);
  // The resume checkpoint holds the state after step k, optimizer included.
  const ck = loadCheckpoint(path.join(runB, 'checkpoints', 'resume.safetensors'));
  assert.equal(ck.meta.kind, 'resume');
  assert.equal(ck.meta.stage, 'kd/dft');
  assert.equal(ck.meta.step, k);
  assert.equal(ck.meta.optimizerT, k);
  assert.equal(ck.meta.cursor, k * 4);
  assert.ok(Object.keys(ck.tensors).some((n) => n.startsWith('optim.m.lm.')), 'optimizer moments saved');
  const cpEvent = ev.filter((e) => e.event === 'checkpoint').pop() as { stage: string; step: number; path: string };
  assert.deepEqual([cpEvent.stage, cpEvent.step, cpEvent.path], ['kd/dft', k, path.join(runB, 'checkpoints', 'resume.safetensors')]);
  // Metrics so far intact: exactly the uninterrupted run's lines up to kd/dft step k.
  const before = readJsonlStrict<MetricsLine>(path.join(runB, 'metrics.jsonl'));
  const upTo = metricsA.findIndex((m) => key(m) === `kd/dft@${k}`) + 1;
  assert.deepEqual(before.map(key), metricsA.slice(0, upTo).map(key));
  before.forEach((m, i) => assertSameStep(m, metricsA[i]));

  await resumeAndCheck(runB, { stage: 'kd/dft', step: k });
  const after = readJsonlStrict<MetricsLine>(path.join(runB, 'metrics.jsonl'));
  assert.deepEqual(after.map(key), metricsA.map(key), 'no missing or repeated steps');
  after.forEach((m, i) => assertSameStep(m, metricsA[i]));
  assert.deepEqual(stripTime(readJsonlStrict<EvalLine>(path.join(runB, 'eval.jsonl'))), stripTime(readJsonlStrict<EvalLine>(path.join(runA, 'eval.jsonl'))));
  assertSameFinalWeights(runB);
});

test('SIGKILL mid-stage: status stays running with a dead pid (reported failed), metrics intact; resume restarts from the last periodic checkpoint', async () => {
  let killed = false;
  const known = runDirs(expDir);
  const c = await runCli(kdArgs(), {
    onEvent: (e, child) => {
      if (!killed && e.event === 'step' && e.stage === 'kd/dft' && e.step === 4) {
        killed = true;
        child.kill('SIGKILL');
      }
    },
  });
  assert.ok(killed, 'never saw kd/dft step 4');
  assert.equal(c.signal, 'SIGKILL', explain(c));
  const runC = newRunDir(known);
  const st = readJson<RunStatus>(path.join(runC, 'status.json'));
  assert.equal(st.state, 'running');
  assert.equal(st.stage, 'kd/dft');
  const eff = effectiveState(st);
  assert.equal(eff.state, 'failed');
  assert.equal(eff.crashed, true);
  const lines = readJsonlStrict<MetricsLine>(path.join(runC, 'metrics.jsonl'));
  const dft = lines.filter((m) => m.stage === 'kd/dft');
  const j = dft.length;
  assert.ok(j >= 4 && j < 10, `killed after kd/dft step ${j}`);
  assert.deepEqual(dft.map((m) => m.step), Array.from({ length: j }, (_, i) => i + 1));
  lines.forEach((m, i) => assertSameStep(m, metricsA[i]));
  // The last periodic checkpoint: a multiple of checkpointEvery, at most the last logged step.
  const m = loadCheckpoint(path.join(runC, 'checkpoints', 'resume.safetensors')).meta;
  assert.equal(m.stage, 'kd/dft');
  assert.ok(m.step % CKPT_EVERY === 0 && m.step >= CKPT_EVERY && m.step <= j && m.step > j - 1 - CKPT_EVERY, `resume checkpoint at step ${m.step}, last logged ${j}`);

  await resumeAndCheck(runC, { stage: 'kd/dft', step: m.step });
  const after = readJsonlStrict<MetricsLine>(path.join(runC, 'metrics.jsonl'));
  // The killed process's lines up to the checkpoint stay; those after it (m+1..j) are written
  // again by the resumed process, so each (stage, step) appears once, equal to the uninterrupted run.
  const upTo = lines.filter((x) => x.stage !== 'kd/dft' || x.step <= m.step);
  assert.deepEqual(after.slice(0, upTo.length), upTo);
  const resumed = after.slice(upTo.length);
  const fromA = metricsA.filter((x) => x.stage === 'kd/dft' && x.step > m.step);
  assert.deepEqual(resumed.map(key), fromA.map(key));
  resumed.forEach((x, i) => assertSameStep(x, fromA[i]));
  const keys = after.map((x) => `${x.stage}@${x.step}`);
  assert.equal(new Set(keys).size, keys.length, 'no duplicate (stage, step) metric lines after resume');
  for (const f of ['eval.jsonl', 'samples.jsonl']) {
    const rows = readJsonlStrict<{ stage: string; step: number; id?: string; split?: string }>(path.join(runC, f)).map((x) => `${x.stage}@${x.step}@${x.split ?? ''}@${x.id ?? ''}`);
    assert.equal(new Set(rows).size, rows.length, `no duplicate lines in ${f} after resume`);
  }
  assertSameFinalWeights(runC);
});

test('kill campaign: 4 SIGKILLs at seeded random points (some mid-write), a resume after each; files stay valid, no duplicate lines, no temp files, the same final weights', async (t) => {
  const rnd = mulberry32(22);
  const known = runDirs(expDir);
  const total = metricsA.length;
  let dir: string | undefined;
  let kills = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    // Kill after a random number of further steps, sometimes a few ms later (inside a write).
    const after = 1 + Math.floor(rnd() * Math.max(1, total / 3));
    const delay = rnd() < 0.5 ? 0 : Math.floor(rnd() * 30);
    let seen = 0;
    let killed = false;
    const onEvent = (e: TrainerEvent, child: import('node:child_process').ChildProcess) => {
      if (attempt === 4 || killed || e.event !== 'step' || ++seen < after) return;
      killed = true;
      setTimeout(() => child.kill('SIGKILL'), delay);
    };
    const r = dir ? await runCli(['resume', dir, '--json'], { onEvent }) : await runCli(kdArgs(), { onEvent });
    dir ??= newRunDir(known);
    if (r.signal === 'SIGKILL') {
      kills++;
      // Every file a reader opens is valid after the kill (a half-written last line is allowed).
      readJson<RunStatus>(path.join(dir, 'status.json'));
      for (const f of ['metrics.jsonl', 'eval.jsonl', 'samples.jsonl']) {
        if (!fs.existsSync(path.join(dir, f))) continue;
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        const lines = text.split('\n');
        lines.slice(0, -1).forEach((l, i) => assert.doesNotThrow(() => JSON.parse(l), `${f} line ${i + 1} after kill ${kills}`));
      }
      for (const c of fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.safetensors'))) loadCheckpoint(path.join(dir, 'checkpoints', c));
      continue;
    }
    assert.equal(r.code, 0, explain(r));
    if (readJson<RunStatus>(path.join(dir, 'status.json')).state === 'completed') break;
  }
  assert.ok(kills >= 3, `only ${kills} kills landed`);
  t.diagnostic(`${kills} kills landed, each resumed`);
  const st = readJson<RunStatus>(path.join(dir!, 'status.json'));
  assert.equal(st.state, 'completed');
  const metrics = readJsonlStrict<MetricsLine>(path.join(dir!, 'metrics.jsonl'));
  assert.deepEqual(metrics.map(key), metricsA.map(key), 'each (stage, step) once, in order');
  metrics.forEach((m, i) => assertSameStep(m, metricsA[i]));
  for (const f of ['eval.jsonl', 'samples.jsonl']) {
    const rows = readJsonlStrict<{ stage: string; step: number; id?: string; split?: string; model?: string }>(path.join(dir!, f)).map((x) => `${x.stage}@${x.step}@${x.split ?? ''}@${x.model ?? ''}@${x.id ?? ''}`);
    assert.equal(new Set(rows).size, rows.length, `no duplicate lines in ${f}`);
  }
  const temps = [dir!, path.join(dir!, 'checkpoints')].flatMap((d) => fs.readdirSync(d).filter((f) => f.includes('.tmp-')));
  assert.deepEqual(temps, [], 'temp files of killed writers are cleaned up');
  assertSameFinalWeights(dir!);
});

test('resume refuses a completed run and a folder that is not a run (exit 2)', async () => {
  const done = await runCli(['resume', runA, '--json']);
  assert.equal(done.code, 2, explain(done));
  assert.match(done.stdout, /already completed/);
  const notRun = await runCli(['resume', expDir]);
  assert.equal(notRun.code, 2, explain(notRun));
  assert.match(notRun.stderr, /not a run folder/);
});
