/**
 * The extension's view of the teacher store: the picker rows built from `teacher list --json`
 * (src/host/core/teacherStoreModel.ts) and the tree row of the stored teacher a run used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStoreListing, teacherPickRows } from '../src/host/core/teacherStoreModel';
import { runNode } from '../src/host/core/treeModel';
import type { RunStatus } from '../src/common/runFormat';

const listing = JSON.stringify({
  root: '/c/teachers', packaged: ['/ext/assets/teachers'],
  entries: [
    { key: 'a1b2c3d4e5f6a7b8c9d0e1f2', dir: '/ext/assets/teachers/a1b2', source: 'package', state: 'ok', bytes: 3_400_000, teacherAccuracy: 0.913,
      manifest: { name: 'default', createdAt: '2026-12-01T23:56:20.000Z', trainedWith: { seconds: 1500, backend: 'wasm', workers: 2 }, recipe: { teacher: { lm: { dim: 128, layers: 3 } } } } },
    { key: 'ffff0000ffff0000ffff0000', dir: '/c/teachers/ffff', source: 'cache', state: 'corrupt', bytes: 10, problem: 'teacher-sft.safetensors: missing' },
    { key: 'eeee', dir: '/c/teachers/eeee', source: 'cache', state: 'training', bytes: 0, pid: 42 },
  ],
});

test('teacher picker rows: name, source, accuracy, size, state', () => {
  const rows = teacherPickRows(parseStoreListing(`some log line\n${listing}\n`));
  assert.deepEqual(rows.map((r) => r.label), ['$(mortar-board) a1b2c3d4e5f6  default', '$(warning) ffff0000ffff', '$(sync~spin) eeee']);
  assert.equal(rows[0].description, 'shipped with the extension (read-only) · test 91.3% · LM 128×3 · 3.2 MB');
  assert.match(rows[0].detail, /^trained 2026-12-01 23:56 in 25 min \(wasm, 2 threads\)/);
  assert.match(rows[1].detail, /corrupt: teacher-sft.safetensors: missing/);
  assert.equal(rows[2].detail, 'being trained by process 42');
  assert.throws(() => parseStoreListing('not json'), /printed no JSON/);
});

test('tree: a run that reused a stored teacher shows it above its stages, and its teacher-side stages say so', () => {
  const status: RunStatus = {
    runId: 'r1', experiment: '/w/e/kd-experiment.json', state: 'completed', stages: ['vision/vision', 'teacher/pt', 'teacher/sft', 'kd/dft'], completedStages: ['vision/vision', 'teacher/pt', 'teacher/sft', 'kd/dft'],
    stage: 'kd/dft', step: 10, totalSteps: 10, globalStep: 40, globalTotalSteps: 40, pid: 1, backend: 'wasm', startedAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:01:00Z',
    teacherStore: { key: '0123456789abcdef01234567', path: '/c/teachers/0123', source: 'cache', teacherAccuracy: 0.9 },
  };
  const exp = { file: '/w/e/kd-experiment.json', dir: '/w/e', name: 'e', label: 'e', runs: [] };
  const node = runNode(exp, { runId: 'r1', dir: '/w/e/runs/r1', status, checkpoints: [] });
  assert.equal(node.children[0].kind, 'teacher');
  assert.equal(node.children[0].label, 'teacher 01234567');
  assert.equal(node.children[0].description, 'reused from the teacher store · test 90.0%');
  assert.deepEqual(node.children.slice(1).map((c) => c.description), ['done · from the teacher store', 'done · from the teacher store', 'done · from the teacher store', 'done']);
  const trained = runNode(exp, { runId: 'r1', dir: '/w/e/runs/r1', status: { ...status, teacherStore: { ...status.teacherStore!, source: 'trained' } }, checkpoints: [] });
  assert.equal(trained.children[0].description, 'trained by this run, stored · test 90.0%');
  assert.deepEqual(trained.children.slice(1).map((c) => c.description), ['done', 'done', 'done', 'done']);
});
