// Tests of src/trainer/train/runEta.ts: the remaining time from step times measured per kind of step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunEta } from '../src/trainer/train/runEta';

const teacherSft = { key: 'teacher:sft', gflop: 3.4 };
const studentSft = { key: 'student:sft', gflop: 0.37 };
const studentDft = { key: 'student:dft', gflop: 0.4 };

test('ETA: a timed kind of step is estimated from its own time, firm', () => {
  const eta = new RunEta();
  eta.observe(teacherSft, 0.1);
  eta.observe(studentSft, 0.015);
  // In a student SFT stage with 100 steps left, then 200 more student SFT steps (e.g. kd/sft after baseline/sft).
  assert.deepEqual(eta.estimate(studentSft, 100, 4, [{ ...studentSft, steps: 200 }]), { seconds: Math.round(100 * 0.015 + 4 + 200 * 0.015), rough: false });
});

test('ETA: the teacher\'s step time is not applied to the student stages that follow (the swing of #9)', () => {
  const eta = new RunEta();
  eta.observe(teacherSft, 0.1);
  // 50 teacher steps left, then 400 student SFT steps not timed yet: scaled by FLOPs (0.1 s / 3.4 GFLOP), rough.
  const e = eta.estimate(teacherSft, 50, 0, [{ ...studentSft, steps: 400 }]);
  assert.equal(e.rough, true);
  assert.equal(e.seconds, Math.round(50 * 0.1 + 400 * 0.37 * (0.1 / 3.4)));
  // The old estimate (the current step time for every remaining step) would have said 45 s.
  assert.ok(e.seconds < 0.5 * (450 * 0.1), `${e.seconds}`);
  // Once the student's step is timed, the same stages are estimated firmly from it.
  eta.observe(studentSft, 0.02);
  assert.deepEqual(eta.estimate(studentSft, 400, 0, [{ ...studentDft, steps: 100 }]).rough, true);
  eta.observe(studentDft, 0.03);
  assert.deepEqual(eta.estimate(studentDft, 100, 0, []), { seconds: 3, rough: false });
});

test('ETA: nothing timed yet is rough; invalid observations are ignored', () => {
  const eta = new RunEta();
  eta.observe(studentSft, NaN);
  eta.observe(studentSft, 0);
  assert.deepEqual(eta.estimate(studentSft, 10, 0, [{ ...teacherSft, steps: 10 }]), { seconds: 0, rough: true });
});
