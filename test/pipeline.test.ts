/**
 * End-to-end test of `llava-kd run` on the tiny preset (built CLI, wasm backend): the JSON event
 * stream, the run-folder contract of src/common/runFormat.ts (config, status, metrics with raw and
 * weighted loss terms, eval, samples, checkpoints), frozen weights staying bit-identical, split
 * runs with --stages/--from reproducing the full run, and `eval`/`ask` on the final checkpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalLine, MetricsLine, RunStatus, SampleLine, TrainerEvent } from '../src/common/runFormat';
import { resolveConfig } from '../src/trainer/config';
import type { ExperimentConfig } from '../src/trainer/config/types';
import { loadCheckpoint } from '../src/trainer/io/checkpoint';
import { cosineLr } from '../src/trainer/train/adamw';
import { isCorrect } from '../src/trainer/data/answers';
import { ckptName, stageConfig } from '../src/common/stagePlan';
import {
  cleanupTmp, compareGroup, explain, parseEvents, readJson, readJsonlStrict, relDiff, runCli, runDirs, sha256,
  snapshotDir, tensorBytes, tmpDir, writeExperiment, type CliResult,
} from './helpers/cli';

const ALL_STAGES = ['vision/vision', 'teacher/pt', 'teacher/sft', 'student/lm', 'baseline/pt', 'baseline/sft', 'kd/dpt', 'kd/sft', 'kd/dft'];
const EVENTS = new Set(['started', 'step', 'eval', 'sample', 'checkpoint', 'stage-start', 'stage-done', 'finished', 'log', 'error']);
const EXP = { preset: 'tiny' };

let expDir: string;
let expFile: string;
let full: CliResult;
let events: TrainerEvent[];
let runDir: string;
let cfg: ExperimentConfig;
const kindOf = (id: string) => id.split('/')[1] as keyof ExperimentConfig['stages'];
/** Hyper-parameters of a stage id (the teacher track has its own, teacher.stages). */
const sc = (id: string) => stageConfig(cfg, { track: id.split('/')[0] as 'kd', kind: kindOf(id) });

before(async () => {
  expDir = tmpDir('pipeline');
  expFile = writeExperiment(expDir, EXP);
  full = await runCli(['run', expFile, '--json', '--backend', 'wasm']);
  assert.equal(full.code, 0, explain(full));
  events = parseEvents(full);
  const dirs = runDirs(expDir);
  assert.equal(dirs.length, 1);
  runDir = dirs[0];
  cfg = resolveConfig({ ...EXP, backend: 'wasm' }, 'test');
});
after(cleanupTmp);

test('run --json: every stdout line is a TrainerEvent; started first (after boot logs), finished last', () => {
  for (const e of events) assert.ok(EVENTS.has(e.event), `unknown event ${JSON.stringify(e).slice(0, 200)}`);
  const nonLog = events.filter((e) => e.event !== 'log');
  const started = nonLog[0];
  assert.equal(started.event, 'started');
  if (started.event !== 'started') return;
  assert.equal(started.runDir, runDir);
  assert.equal(started.runId, path.basename(runDir));
  assert.equal(started.backend, 'wasm');
  assert.deepEqual(started.stages, ALL_STAGES);
  const last = events[events.length - 1];
  assert.equal(last.event, 'finished', `last line: ${full.lines[full.lines.length - 1]}`);
  if (last.event !== 'finished') return;
  assert.equal(last.state, 'completed');
  assert.equal(last.runDir, runDir);
  assert.equal(events.filter((e) => e.event === 'finished').length, 1);
  assert.equal(events.filter((e) => e.event === 'error').length, 0);
  // stage-start / stage-done pairs, in plan order, each naming an existing checkpoint.
  const stageEvents = events.filter((e) => e.event === 'stage-start' || e.event === 'stage-done');
  assert.deepEqual(stageEvents.map((e) => `${e.event}:${(e as { stage: string }).stage}`), ALL_STAGES.flatMap((s) => [`stage-start:${s}`, `stage-done:${s}`]));
  for (const e of stageEvents) {
    if (e.event === 'stage-start') assert.equal(e.totalSteps, sc(e.stage).steps);
    if (e.event === 'stage-done') {
      assert.equal(e.checkpoint, path.join(runDir, 'checkpoints', `${ckptName(e.stage)}.safetensors`));
      assert.equal(e.step, sc(e.stage).steps);
    }
  }
  // Step events carry the metrics lines; eval/sample events the eval/samples lines.
  const strip = <T extends object>(e: T, extra: string[]) => Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'event' && !extra.includes(k)));
  const metrics = readJsonlStrict<MetricsLine>(path.join(runDir, 'metrics.jsonl'));
  const stepEvents = events.filter((e) => e.event === 'step');
  assert.equal(stepEvents.length, metrics.length);
  stepEvents.forEach((e, i) => assert.deepEqual(strip(e, ['totalSteps', 'globalTotalSteps', 'etaSeconds', 'etaRough']), metrics[i]));
  // The progress denominator travels with every step (the extension does not re-read status.json for it).
  const status = JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as { globalTotalSteps: number };
  assert.ok(stepEvents.every((e) => (e as { globalTotalSteps?: number }).globalTotalSteps === status.globalTotalSteps), `globalTotalSteps ${status.globalTotalSteps} on every step event`);
  // The ETA is rough while some kind of step still to run has not been timed (the vision stage
  // precedes every model stage), firm in the last stage, and counts down to 0 at the run's end.
  const eta = stepEvents as { stage: string; etaSeconds?: number; etaRough?: boolean }[];
  assert.equal(eta[0].etaRough, true, 'the first stage\'s ETA is a rough guess');
  assert.equal(eta[eta.length - 1].etaRough, false, 'the last stage\'s ETA is firm');
  const lastStage = eta.filter((e) => e.stage === eta[eta.length - 1].stage);
  assert.ok(lastStage[lastStage.length - 1].etaSeconds! <= lastStage[0].etaSeconds!, 'the ETA counts down through the last stage');
  assert.ok(eta.every((e) => typeof e.etaSeconds === 'number' && e.etaSeconds >= 0));
  assert.deepEqual(events.filter((e) => e.event === 'eval').map((e) => strip(e, [])), readJsonlStrict(path.join(runDir, 'eval.jsonl')));
  assert.deepEqual(events.filter((e) => e.event === 'sample').map((e) => strip(e, [])), readJsonlStrict(path.join(runDir, 'samples.jsonl')));
});

test('config.json is the fully resolved config; status.json completed with all 10 stages', () => {
  const written = readJson<ExperimentConfig>(path.join(runDir, 'config.json'));
  assert.deepEqual(written, cfg);
  assert.equal(written.stages.dpt.steps, 6, 'tiny preset applied');
  assert.equal(written.student.lm.dim, 16);
  const st = readJson<RunStatus>(path.join(runDir, 'status.json'));
  const totalSteps = ALL_STAGES.reduce((s, id) => s + sc(id).steps, 0);
  assert.equal(st.state, 'completed');
  assert.equal(st.runId, path.basename(runDir));
  assert.equal(st.experiment, expFile);
  assert.deepEqual(st.stages, ALL_STAGES);
  assert.deepEqual(st.completedStages, ALL_STAGES);
  assert.equal(st.stage, 'kd/dft');
  assert.equal(st.step, cfg.stages.dft.steps);
  assert.equal(st.totalSteps, cfg.stages.dft.steps);
  assert.equal(st.globalStep, totalSteps);
  assert.equal(st.globalTotalSteps, totalSteps);
  assert.equal(st.backend, 'wasm');
  assert.equal(st.pid, (events.find((e) => e.event === 'started') as { pid: number }).pid);
  assert.equal(st.error, undefined);
  assert.ok(st.endedAt && Date.parse(st.endedAt) >= Date.parse(st.startedAt));
  assert.deepEqual(Object.keys(st.accuracy ?? {}).sort(), ['baseline', 'kd', 'teacher']);
  const fin = events[events.length - 1] as { accuracy?: Record<string, number> };
  assert.deepEqual(fin.accuracy, st.accuracy);
});

test('metrics.jsonl: every step of every stage, lr schedule, raw and weighted loss terms (weighted = weight × raw)', () => {
  const metrics = readJsonlStrict<MetricsLine>(path.join(runDir, 'metrics.jsonl'));
  let global = 0;
  for (const id of ALL_STAGES) {
    const st = sc(id);
    const lines = metrics.filter((m) => m.stage === id);
    assert.deepEqual(lines.map((m) => m.step), Array.from({ length: st.steps }, (_, i) => i + 1), `${id}: steps (logEvery 1)`);
    for (const m of lines) {
      global++;
      assert.equal(m.globalStep, global, `${id} step ${m.step}: globalStep`);
      assert.equal(m.lr, cosineLr(m.step - 1, st.steps, st.optimizer.lr, st.warmupRatio, st.minLrRatio), `${id} step ${m.step}: lr`);
      assert.ok(Number.isFinite(m.loss.total), `${id} step ${m.step}: total`);
      assert.ok(Number.isFinite(m.gradNorm) && m.gradNorm > 0, `${id} step ${m.step}: gradNorm`);
      assert.ok(m.samplesPerSec > 0);
      const kind = kindOf(id);
      const terms = Object.keys(m.loss).filter((k) => k !== 'total').sort();
      if (kind === 'vision') {
        assert.deepEqual(terms, ['task']);
        assert.deepEqual(m.weights, { task: 1 });
      } else if (kind === 'dpt' || kind === 'dft') {
        assert.deepEqual(terms, ['ce', 'rel', 'res', 'vis'], `${id}: all four KD terms logged`);
        assert.deepEqual(m.weights, { ...st.loss }, `${id}: weights from the config`);
        assert.ok(m.loss.res! >= 0 && m.loss.vis! >= 0, `${id}: KL terms are ≥ 0`);
        assert.ok(m.loss.rel! >= 0 && m.loss.rel! <= 2, `${id}: RDist in [0, 2]`);
        assert.ok(m.loss.ce! > 0);
      } else {
        assert.deepEqual(terms, ['ce'], `${id}: CE only`);
        assert.deepEqual(m.weights, { ce: 1 });
      }
      assert.deepEqual(Object.keys(m.weighted).sort(), terms);
      let sum = 0;
      for (const k of terms as (keyof typeof m.weights)[]) {
        const want = m.weights[k]! * m.loss[k]!;
        assert.ok(relDiff(m.weighted[k]!, want) < 1e-12, `${id} step ${m.step}: weighted.${k} = ${m.weighted[k]} ≠ ${m.weights[k]} × ${m.loss[k]}`);
        sum += m.weighted[k]!;
      }
      assert.ok(relDiff(m.loss.total, sum) < 1e-5, `${id} step ${m.step}: total ${m.loss.total} ≠ Σ weighted ${sum}`);
    }
  }
  assert.equal(metrics.length, global, 'no lines of unknown stages');
  // The KD terms actually distil: rel's weight 0.5 differs from 1, so weighted.rel = raw/2.
  const dpt = metrics.find((m) => m.stage === 'kd/dpt')!;
  assert.equal(dpt.weights.rel, 0.5);
  assert.ok(Math.abs(dpt.weighted.rel! - dpt.loss.rel! / 2) <= 1e-12 * Math.abs(dpt.loss.rel!));
});

test('eval.jsonl and samples.jsonl: val evals during sft/dft, test evals per track, sample images exist', () => {
  const evals = readJsonlStrict<EvalLine>(path.join(runDir, 'eval.jsonl'));
  const samples = readJsonlStrict<SampleLine>(path.join(runDir, 'samples.jsonl'));
  const evalStages = ALL_STAGES.filter((id) => ['sft', 'dft'].includes(kindOf(id)));
  const expectedVal: string[] = [];
  for (const id of evalStages) {
    const st = sc(id);
    for (let s = st.evalEvery; s < st.steps; s += st.evalEvery) expectedVal.push(`${id}@${s}`);
    expectedVal.push(`${id}@${st.steps}`);
  }
  // The vision stage ends with a linear probe of the encoder: one val line of model `vision`.
  const probe = evals.filter((e) => e.model === 'vision');
  assert.deepEqual(probe.map((e) => `${e.stage}@${e.step}:${e.split}`), [`vision/vision@${cfg.stages.vision.steps}:val`]);
  assert.deepEqual(Object.keys(probe[0].byType).sort(), ['color', 'shape', 'size']);
  assert.ok(probe[0].n > 0 && probe[0].accuracy > 0, 'the probe scored occupied val cells');
  const val = evals.filter((e) => e.split === 'val' && e.model !== 'vision');
  assert.deepEqual(val.map((e) => `${e.stage}@${e.step}`), expectedVal);
  for (const e of val) {
    assert.equal(e.n, cfg.eval.valQuestions);
    assert.equal(e.model, e.stage.split('/')[0]);
  }
  const testLines = evals.filter((e) => e.split === 'test');
  assert.deepEqual(testLines.map((e) => `${e.model}:${e.stage}`), ['teacher:teacher/sft', 'baseline:baseline/sft', 'kd:kd/dft']);
  const testCount = (JSON.parse(fs.readFileSync(path.join(expDir, 'world', 'test.json'), 'utf8')) as unknown[]).length;
  const st = readJson<RunStatus>(path.join(runDir, 'status.json'));
  for (const e of evals) {
    assert.ok(e.accuracy >= 0 && e.accuracy <= 1);
    const types = Object.values(e.byType);
    assert.ok(types.length > 0 && types.every((a) => a >= 0 && a <= 1), `byType of ${e.stage}@${e.step}`);
    if (e.split === 'test') {
      assert.equal(e.n, testCount);
      assert.equal(st.accuracy![e.model], e.accuracy);
    }
  }
  // samples: cfg.eval.samples per val eval, in the same order, images on disk.
  assert.equal(samples.length, val.length * cfg.eval.samples);
  val.forEach((e, i) => {
    for (const s of samples.slice(i * cfg.eval.samples, (i + 1) * cfg.eval.samples)) {
      assert.equal(`${s.stage}@${s.step}`, `${e.stage}@${e.step}`);
      assert.equal(s.globalStep, e.globalStep);
    }
  });
  for (const s of samples) {
    assert.ok(path.isAbsolute(s.image) && fs.existsSync(s.image), `sample image ${s.image}`);
    assert.ok(s.question.length > 0 && s.groundTruth.length > 0 && typeof s.answer === 'string' && typeof s.correct === 'boolean');
    // The teacher answers alongside only where a teacher is loaded (distillation stages).
    if (s.stage === 'kd/dft') {
      assert.equal(typeof s.teacherAnswer, 'string', `kd/dft sample ${s.id} lacks teacherAnswer`);
      assert.equal(s.teacherCorrect, isCorrect(s.teacherAnswer!, s.groundTruth), `kd/dft sample ${s.id}: teacherCorrect scores the teacher's answer`);
    } else assert.equal(s.teacherAnswer, undefined, `${s.stage} sample ${s.id} has a teacherAnswer without a teacher`);
  }
});

test('checkpoints: one final checkpoint per stage; frozen parts bit-identical (projector-only DPT/PT, shared frozen vision)', () => {
  const ck = (name: string) => path.join(runDir, 'checkpoints', `${name}.safetensors`);
  for (const id of ALL_STAGES) {
    const c = loadCheckpoint(ck(ckptName(id)));
    assert.equal(c.meta.kind, 'final');
    assert.equal(c.meta.stage, id);
    assert.equal(c.meta.step, sc(id).steps);
    assert.equal(c.meta.track, id.split('/')[0]);
  }
  const t = Object.fromEntries(ALL_STAGES.map((id) => [ckptName(id), tensorBytes(ck(ckptName(id)))]));
  assert.ok([...t['vision-vision'].keys()].every((n) => n.startsWith('vision.')), 'vision checkpoint holds only vision.*');
  // kd/dpt trains the projector only: LM identical to student/lm's, projector changed everywhere.
  const dpt = compareGroup(t['kd-dpt'], t['student-lm'], 'lm.');
  assert.deepEqual(dpt.differ, [], `kd/dpt changed frozen LM tensors: ${dpt.differ}`);
  const dptProj = compareGroup(t['kd-dpt'], t['student-lm'], 'projector.');
  assert.deepEqual(dptProj.same, [], `kd/dpt left projector tensors untrained: ${dptProj.same}`);
  // Same for the baseline's PT and the teacher's PT.
  assert.deepEqual(compareGroup(t['baseline-pt'], t['student-lm'], 'lm.').differ, []);
  assert.ok(compareGroup(t['baseline-pt'], t['student-lm'], 'projector.').differ.length > 0);
  // The teacher has no LM pre-training by default (teacher.lmPretrain): its SFT trains LM and projector.
  assert.ok(compareGroup(t['teacher-sft'], t['teacher-pt'], 'lm.').differ.length > 0);
  // SFT and DFT do train the LM.
  assert.ok(compareGroup(t['kd-sft'], t['kd-dpt'], 'lm.').differ.length > 0);
  assert.ok(compareGroup(t['kd-dft'], t['kd-sft'], 'lm.').differ.length > 0);
  assert.ok(compareGroup(t['kd-dft'], t['kd-sft'], 'projector.').differ.length > 0);
  // The vision encoder is frozen in every later stage.
  for (const name of Object.keys(t).filter((n) => n !== 'vision-vision')) {
    const v = compareGroup(t[name], t['vision-vision'], 'vision.');
    assert.deepEqual(v.differ, [], `${name}: vision tensors differ from vision-vision: ${v.differ}`);
  }
});

test('eval and ask: eval on kd-dft reproduces the run\'s test accuracy; ask answers like the run\'s samples', async () => {
  const ckpt = path.join(runDir, 'checkpoints', 'kd-dft.safetensors');
  const testFile = path.join(expDir, 'world', 'test.json');
  const ev = await runCli(['eval', ckpt, '--data', testFile, '--json', '--backend', 'wasm']);
  assert.equal(ev.code, 0, explain(ev));
  assert.equal(ev.lines.length, 1, ev.stdout);
  const r = JSON.parse(ev.lines[0]) as { accuracy: number; byType: Record<string, number>; n: number; track: string; checkpoint: string };
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
  assert.equal(r.track, 'kd');
  assert.equal(r.checkpoint, ckpt);
  const runTest = readJsonlStrict<EvalLine>(path.join(runDir, 'eval.jsonl')).find((e) => e.split === 'test' && e.model === 'kd')!;
  assert.equal(r.n, runTest.n);
  assert.equal(r.accuracy, runTest.accuracy);
  assert.deepEqual(r.byType, runTest.byType);

  // ask on a stage's final checkpoint with a question from its last val eval: prefer kd/dft, and a
  // sample whose answer is non-empty (an untrained tiny model may answer <eos> at once).
  const finalSamples = readJsonlStrict<SampleLine>(path.join(runDir, 'samples.jsonl'))
    .filter((x) => x.step === sc(x.stage).steps)
    .sort((a, b) => Number(b.stage === 'kd/dft') - Number(a.stage === 'kd/dft'));
  const s = finalSamples.find((x) => x.answer.length > 0) ?? finalSamples[0];
  const askCkpt = path.join(runDir, 'checkpoints', `${ckptName(s.stage)}.safetensors`);
  const ask = await runCli(['ask', askCkpt, '--image', s.image, '--question', s.question, '--backend', 'wasm']);
  assert.equal(ask.code, 0, explain(ask));
  assert.ok(ask.stdout.endsWith('\n') && ask.stdout.indexOf('\n') === ask.stdout.length - 1, `ask prints one line: ${JSON.stringify(ask.stdout)}`);
  const answer = ask.stdout.slice(0, -1);
  if (s.answer.length > 0) assert.ok(answer.trim().length > 0, 'ask printed an empty answer');
  assert.ok(answer.startsWith(s.answer), `ask answered ${JSON.stringify(answer)}, the run's sample ${JSON.stringify(s.answer)}`);
});

test('split runs: --stages pretrain,teacher then --stages kd --from it: teacher-sft untouched, kd reproduces the full run, first run folder byte-identical', async () => {
  const before = snapshotDir(runDir);
  const a = await runCli(['run', expFile, '--json', '--backend', 'wasm', '--stages', 'pretrain,teacher']);
  assert.equal(a.code, 0, explain(a));
  const dirs1 = runDirs(expDir);
  assert.equal(dirs1.length, 2, 'a second run makes a second folder');
  const runA = dirs1.find((d) => d !== runDir)!;
  assert.deepEqual(readJson<RunStatus>(path.join(runA, 'status.json')).completedStages, ['vision/vision', 'teacher/pt', 'teacher/sft', 'student/lm']);
  const teacherSft = path.join(runA, 'checkpoints', 'teacher-sft.safetensors');
  const hashBefore = sha256(teacherSft);
  // Deterministic: the split run's teacher equals the full run's, tensor for tensor.
  const tA = tensorBytes(teacherSft);
  const tFull = tensorBytes(path.join(runDir, 'checkpoints', 'teacher-sft.safetensors'));
  for (const p of ['vision.', 'projector.', 'lm.']) assert.deepEqual(compareGroup(tA, tFull, p).differ, [], `teacher-sft ${p}* differs from the full run's`);

  const b = await runCli(['run', expFile, '--json', '--backend', 'wasm', '--stages', 'kd', '--from', runA]);
  assert.equal(b.code, 0, explain(b));
  const runB = runDirs(expDir).find((d) => d !== runDir && d !== runA)!;
  const stB = readJson<RunStatus>(path.join(runB, 'status.json'));
  assert.deepEqual(stB.completedStages, ['kd/dpt', 'kd/sft', 'kd/dft']);
  assert.equal(stB.from, runA);
  assert.equal(sha256(teacherSft), hashBefore, 'teacher-sft.safetensors of the --from run changed');
  assert.deepEqual(fs.readdirSync(path.join(runB, 'checkpoints')).filter((f) => f !== 'resume.safetensors').sort(), ['kd-dft.safetensors', 'kd-dpt.safetensors', 'kd-sft.safetensors']);
  // The kd stages saw the same teacher (and vision, student-lm): every logged loss equals the full run's.
  const mFull = readJsonlStrict<MetricsLine>(path.join(runDir, 'metrics.jsonl')).filter((m) => m.stage.startsWith('kd/'));
  const mB = readJsonlStrict<MetricsLine>(path.join(runB, 'metrics.jsonl'));
  assert.deepEqual(mB.map((m) => `${m.stage}@${m.step}`), mFull.map((m) => `${m.stage}@${m.step}`));
  mB.forEach((m, i) => {
    for (const k of Object.keys(mFull[i].loss) as (keyof MetricsLine['loss'])[]) {
      assert.ok(relDiff(m.loss[k]!, mFull[i].loss[k]!) < 1e-6, `${m.stage}@${m.step} ${k}: ${m.loss[k]} vs full run ${mFull[i].loss[k]}`);
    }
  });
  // The kd checkpoints equal the full run's too.
  for (const n of ['kd-dpt', 'kd-dft']) {
    const x = tensorBytes(path.join(runB, 'checkpoints', `${n}.safetensors`));
    const y = tensorBytes(path.join(runDir, 'checkpoints', `${n}.safetensors`));
    assert.deepEqual(compareGroup(x, y, 'lm.').differ, [], `${n} lm.* differs from the full run's`);
  }
  assert.deepEqual(snapshotDir(runDir), before, 'later runs modified the first run folder');
});
