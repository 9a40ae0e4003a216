// Tests of src/host/core/runModel.ts, treeModel.ts and experimentTree.ts on hand-made run summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunStatus } from '../src/common/runFormat';
import { fromRequirements, checkpointStage, resumableRuns, runsWithCheckpoints, stageRows, stagesFrom, toRunInfo, type ExperimentSummary, type RunSummary } from '../src/host/core/runModel';
import { buildTree } from '../src/host/core/experimentTree';
import { runDescription, runTooltip } from '../src/host/core/treeModel';
import { fullPlan } from '../src/common/stagePlan';
import { presetConfig } from '../src/trainer/config';

const defaultPlan = fullPlan(presetConfig('default'));

const status = (over: Partial<RunStatus>): RunStatus => ({
  runId: 'r', experiment: '/w/e/kd-experiment.json', state: 'running', stages: ['kd/sft', 'kd/dft'], completedStages: ['kd/sft'], stage: 'kd/dft', step: 120, totalSteps: 400,
  globalStep: 520, globalTotalSteps: 800, pid: 1, backend: 'wasm', startedAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:01:00Z', ...over,
});
const ck = (dir: string, name: string) => ({ name, path: `${dir}/checkpoints/${name}`, size: 2048, mtimeMs: 0 });
const run = (id: string, st: Partial<RunStatus> | undefined, ckpts: string[]): RunSummary => {
  const dir = `/w/e/runs/${id}`;
  return { runId: id, dir, status: st ? status({ runId: id, ...st }) : undefined, error: st ? undefined : 'status.json missing', checkpoints: ckpts.map((c) => ck(dir, c)) };
};

test('checkpoint names map to stages', () => {
  assert.equal(checkpointStage('kd-sft.safetensors'), 'kd/sft');
  assert.equal(checkpointStage('vision-vision.safetensors'), 'vision/vision');
  assert.equal(checkpointStage('resume.safetensors'), null);
});

test('runs usable for DFT hold the checkpoints its plan stage reads (kd-sft, teacher-sft, vision), newest first', () => {
  const runs = [
    run('20250101-000000-aaaa', { startedAt: '2025-01-01T00:00:00Z' }, ['vision-vision.safetensors', 'teacher-sft.safetensors', 'kd-sft.safetensors']),
    run('20250102-000000-bbbb', { startedAt: '2025-01-02T00:00:00Z' }, ['vision-vision.safetensors', 'teacher-sft.safetensors', 'kd-sft.safetensors', 'baseline-sft.safetensors']),
    // The trainer's kd/dft starts from kd-sft: a baseline-sft alone does not do.
    run('20250103-000000-cccc', { startedAt: '2025-01-03T00:00:00Z' }, ['vision-vision.safetensors', 'teacher-sft.safetensors', 'baseline-sft.safetensors']),
    run('20250104-000000-dddd', { startedAt: '2025-01-04T00:00:00Z' }, ['kd-sft.safetensors']),
  ];
  assert.deepEqual(fromRequirements(defaultPlan, 'kd/dft'), [['kd/sft'], ['teacher/sft'], ['vision/vision']]);
  assert.deepEqual(runsWithCheckpoints(runs, fromRequirements(defaultPlan, 'kd/dft')).map((r) => r.runId), ['20250102-000000-bbbb', '20250101-000000-aaaa']);
  assert.deepEqual(runsWithCheckpoints(runs, fromRequirements(defaultPlan, 'kd/sft')), []);
  // DPT starts from the student LM, which a run trains itself: only the teacher and the vision encoder are required.
  assert.deepEqual(fromRequirements(defaultPlan, 'kd/dpt'), [['teacher/sft'], ['vision/vision']]);
});

test('requirements follow the experiment\'s own pipeline: a kd track without DPT', () => {
  const cfg = presetConfig('default');
  const plan = fullPlan({ ...cfg, pipeline: { ...cfg.pipeline, kd: ['sft', 'dft'] } });
  assert.deepEqual(fromRequirements(plan, 'kd/sft'), [['vision/vision']]);
  assert.throws(() => fromRequirements(plan, 'kd/dpt'), /no stage 'kd\/dpt'/);
});

test('resumable runs are failed or stopped', () => {
  const runs = [run('a', { state: 'completed' }, []), run('b', { state: 'failed' }, []), run('c', { state: 'stopped' }, []), run('d', undefined, [])];
  assert.deepEqual(resumableRuns(runs).map((r) => r.runId).sort(), ['b', 'c']);
});

test('stage rows', () => {
  assert.deepEqual(stageRows(status({})), [
    { stage: 'kd/sft', state: 'done' },
    { stage: 'kd/dft', state: 'running', step: 120, totalSteps: 400 },
  ]);
  assert.equal(stageRows(status({ state: 'failed' }))[1].state, 'failed');
  assert.equal(stageRows(status({ stages: ['a', 'b', 'c'], completedStages: [], stage: 'a' }))[2].state, 'pending');
});

test('run descriptions', () => {
  assert.equal(runDescription(status({ etaSeconds: 80 })), 'kd/dft 120/400 · 65% · ETA 1m 20s');
  assert.equal(runDescription(status({ etaSeconds: 80, etaRough: true })), 'kd/dft 120/400 · 65% · ETA ~1m 20s (rough)');
  assert.equal(runDescription(status({ state: 'completed', accuracy: { kd: 0.71, teacher: 0.83 } })), 'completed · kd 71.0% · teacher 83.0%');
  assert.equal(runDescription(status({ state: 'failed' })), 'failed at kd/dft 120/400 · 65%');
});

test('run tooltip: threads and CPU cores busy per stage from status.json; none for runs that predate them', () => {
  const exp: ExperimentSummary = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const tip = runTooltip(exp, run('r1', { threads: { 'kd/sft': 1, 'kd/dft': 2 }, cpuCores: { 'kd/sft': 0.98, 'kd/dft': 1.834 } }, []));
  assert.match(tip, /Backend: wasm · threads: kd\/sft 1 \(0\.98 cores busy\), kd\/dft 2 \(1\.83 cores busy\)/);
  assert.match(runTooltip(exp, run('r2', { threads: { 'kd/dft': 2 } }, [])), /threads: kd\/dft 2\n/);
  assert.match(runTooltip(exp, run('r3', {}, [])), /Backend: wasm\n/);
});

test('tree: experiment -> runs -> stages -> checkpoints', () => {
  const exp: ExperimentSummary = {
    file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e',
    runs: [run('r1', {}, ['kd-sft.safetensors', 'resume.safetensors']), run('r0', undefined, [])],
  };
  const [e] = buildTree([exp, { file: '/w/f/kd-experiment.json', dir: '/w/f', name: 'F', label: 'f', runs: [] }]);
  assert.equal(e.contextValue, 'experiment');
  assert.equal(e.description, '2 runs · 1 running');
  const r1 = e.children.find((c) => c.label === 'r1')!;
  assert.equal(r1.contextValue, 'run.running');
  assert.equal(r1.icon.id, 'sync~spin');
  assert.deepEqual(r1.children.map((c) => [c.label, c.contextValue]), [['kd/sft', 'stage.done'], ['kd/dft', 'stage.running'], ['resume.safetensors', 'checkpoint']]);
  assert.equal(r1.children[0].children[0].label, 'kd-sft.safetensors');
  assert.equal(r1.children[0].children[0].description, '2.0 KB');
  const r0 = e.children.find((c) => c.label === 'r0')!;
  assert.equal(r0.contextValue, 'run.unknown');
  const f = buildTree([{ file: '/w/f/kd-experiment.json', dir: '/w/f', name: 'F', label: 'f', runs: [] }])[0];
  assert.equal(f.children[0].label, 'No runs yet — Run Full Pipeline');
  assert.equal(f.children[0].command?.id, 'llavaKd.runFullPipeline');
});

test('toRunInfo', () => {
  const exp: ExperimentSummary = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const info = toRunInfo(exp, run('r1', { etaSeconds: 5 }, []));
  assert.equal(info.key, '/w/e/runs/r1');
  assert.equal(info.etaSeconds, 5);
  assert.equal(toRunInfo(exp, run('r0', undefined, [])).statusError, 'status.json missing');
});

test('DPT from a teacher-only run trains the student LM first', () => {
  const teacherOnly = run('t', { state: 'completed' }, ['vision-vision.safetensors', 'teacher-sft.safetensors']);
  const full = run('f', { state: 'completed' }, ['teacher-sft.safetensors', 'student-lm.safetensors']);
  assert.deepEqual(stagesFrom(teacherOnly, ['kd/dpt'], defaultPlan), ['student/lm', 'kd/dpt']);
  assert.deepEqual(stagesFrom(full, ['kd/dpt'], defaultPlan), ['kd/dpt']);
  assert.deepEqual(stagesFrom(teacherOnly, ['kd/dft'], defaultPlan), ['kd/dft']);
});

test('a named, tagged, noted run: the name is the label, #tags lead the description, the id and note are in the tooltip', () => {
  const exp: ExperimentSummary = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const named: RunSummary = { ...run('20250101-000000-abcd', { state: 'completed', accuracy: { kd: 0.71 } }, []), meta: { name: 'gamma *0.25*', tags: ['baseline', 'g:0.25'], note: 'lr too high' } };
  const [e] = buildTree([{ ...exp, runs: [named] }]);
  const row = e.children[0];
  assert.equal(row.label, 'gamma *0.25*');
  assert.equal(row.description, '#baseline #g:0.25 · completed · kd 71.0%');
  assert.equal(row.id, 'run:/w/e/runs/20250101-000000-abcd', 'the id stays the folder (expansion state kept across a rename)');
  assert.match(row.tooltip ?? '', /^\*\*gamma \\\*0\\\.25\\\*\*\* \(20250101\\-000000\\-abcd\) — completed/, 'name escaped, run id beside it');
  assert.match(row.tooltip ?? '', /\n\nNote: lr too high\n\nTags: \\#baseline \\#g:0\\\.25\n\n/);
  // Without annotations the row is as before.
  const plain = buildTree([{ ...exp, runs: [run('r2', { state: 'completed' }, [])] }])[0].children[0];
  assert.equal(plain.label, 'r2');
  assert.equal(plain.description, 'completed');
  assert.doesNotMatch(plain.tooltip ?? '', /Note:|Tags:/);
});

test('a run whose run-meta.json is malformed shows by its id, the problem in its tooltip', () => {
  const exp: ExperimentSummary = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const bad: RunSummary = { ...run('r3', { state: 'failed' }, []), meta: {}, metaError: 'run-meta.json is not valid JSON: Unexpected token' };
  const row = buildTree([{ ...exp, runs: [bad] }])[0].children[0];
  assert.equal(row.label, 'r3');
  assert.match(row.description ?? '', /^failed/);
  assert.match(row.tooltip ?? '', /⚠ run\\-meta\\\.json is not valid JSON: Unexpected token \(shown by its id\)/);
  const noStatus: RunSummary = { ...run('r4', undefined, []), meta: { name: 'n' }, metaError: undefined };
  assert.match(runTooltip(exp, noStatus), /^\*\*n\*\* \(r4\)\n\nStatus unreadable/);
});

test('toRunInfo carries the name, tags and note for the webviews', () => {
  const exp: ExperimentSummary = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const info = toRunInfo(exp, { ...run('r1', {}, []), meta: { name: 'mine', tags: ['a'], note: 'n' } });
  assert.deepEqual([info.runId, info.name, info.tags, info.note], ['r1', 'mine', ['a'], 'n']);
  const plain = toRunInfo(exp, run('r2', {}, []));
  assert.equal('name' in plain || 'tags' in plain || 'note' in plain, false, 'absent without annotations');
});
