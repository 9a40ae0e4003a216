// Tests of src/host/core/sweepProgress.ts: the JSON lines of `llava-kd sweep --json` read through a
// fake CLI (TrainerProcess with the sweep event names), the point counts, the status-bar text, and
// the notification for each way the process exits (0, 1, 130, 2, a crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCliArgs } from '../src/host/core/cliArgs';
import { POINT_STATES, type PointState } from '../src/common/sweepFormat';
import { SWEEP_EVENT_NAMES, type SweepEvent } from '../src/common/sweepEvents';
import { applySweepEvent, newSweepProgress, progressCounts, pushStderr, seedFromManifest, sweepExitReport, sweepStatusText, type SweepProgress } from '../src/host/core/sweepProgress';
import { TrainerProcess, parseTrainerLine, type TrainerExit } from '../src/host/core/trainerProcess';
import { manifest, point } from './helpers/sweepFixture';

const dir = mkdtempSync(join(tmpdir(), 'kd-fake-sweep-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const counts = (c: Partial<Record<PointState, number>>): Record<PointState, number> => ({ ...(Object.fromEntries(POINT_STATES.map((s) => [s, 0])) as Record<PointState, number>), ...c });
const exit = (code: number | null, over: Partial<TrainerExit> = {}): TrainerExit => ({ code, signal: null, stopRequested: false, killed: false, ...over });

const started = (p: SweepProgress): SweepProgress => applySweepEvent(p, { event: 'sweep-started', sweepDir: '/w/e/sweeps/s', id: '20250301-120000-grid-T', engine: 'local', points: 4, skipped: 0, resumed: false });

test('sweep lines are events only with the sweep names; trainer lines stay text there', () => {
  assert.deepEqual(parseTrainerLine('{"event":"sweep-point","index":3,"state":"running"}', SWEEP_EVENT_NAMES), { event: { event: 'sweep-point', index: 3, state: 'running' } });
  assert.deepEqual(parseTrainerLine('{"event":"sweep-point","index":3}'), { text: '{"event":"sweep-point","index":3}' }, 'not a TrainerEvent');
  assert.deepEqual(parseTrainerLine('{"event":"step","step":1}', SWEEP_EVENT_NAMES), { text: '{"event":"step","step":1}' });
});

test('a fake sweep CLI: its events reach the progress, its exit code 1 gives "finished: 3 completed, 1 failed"', async () => {
  const cli = join(dir, 'sweep.js');
  writeFileSync(cli, `
    const w = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    w({ event: 'sweep-started', sweepDir: '/w/e/sweeps/s', id: 's', engine: process.argv[process.argv.indexOf('--engine') + 1], points: 4, skipped: 1, resumed: true });
    for (const i of [1, 2, 3]) { w({ event: 'sweep-point', index: i, key: 'k' + i, state: 'running', runDir: '/w/e/runs/s-p00' + i }); w({ event: 'sweep-point', index: i, key: 'k' + i, state: i === 3 ? 'failed' : 'completed', runDir: '/w/e/runs/s-p00' + i }); }
    console.error('point 3 failed: loss is NaN');
    w({ event: 'sweep-finished', sweepDir: '/w/e/sweeps/s', state: 'failed', counts: { planned: 0, pending: 0, running: 0, completed: 3, failed: 1, cancelled: 0, timeout: 0 } });
    process.exit(1);
  `);
  const p = newSweepProgress('/w/e/kd-experiment.json', 'exp', 'slurm');
  const proc = new TrainerProcess<SweepEvent>({ execPath: process.execPath, cliPath: cli, args: buildCliArgs({ kind: 'sweep', experimentFile: 'x.json', engine: 'local' }), cwd: dir, env: process.env, eventNames: SWEEP_EVENT_NAMES });
  proc.onEvent((e) => applySweepEvent(p, e));
  proc.onText((t) => t.stream === 'stderr' && pushStderr(p, t.text));
  const ex = await proc.exited;
  assert.equal(ex.code, 1);
  assert.equal(p.engine, 'local', 'the engine the CLI reports');
  assert.deepEqual([...p.states], [[1, 'completed'], [2, 'completed'], [3, 'failed']]);
  assert.equal(p.runDirs.get(2), '/w/e/runs/s-p002');
  assert.deepEqual(p.stderrTail, ['point 3 failed: loss is NaN']);
  const c = progressCounts(p);
  assert.deepEqual([c.completed, c.failed, c.planned], [2, 1, 1], 'p000 (skipped) has no event: planned until the manifest says');
  assert.deepEqual(sweepExitReport(p, ex, true), { severity: 'warning', message: 'LLaVA-KD: Sweep s finished: 3 completed, 1 failed.', actions: ['Open Dashboard', 'Show Log'] });
});

test('the manifest names the sweep and fills in points without events; the status bar counts them', () => {
  const p = started(newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local'));
  assert.equal(sweepStatusText([p]), '$(sync~spin) Sweep 20250301-120000-grid-T 0/4 completed', 'before the manifest is read: its id');
  applySweepEvent(p, { event: 'sweep-point', index: 2, key: 'k2', state: 'running', runDir: '/w/e/runs/s-p002' });
  seedFromManifest(p, manifest('/w/e', [point('/s', 0, 'completed'), point('/s', 1, 'pending'), point('/s', 2, 'planned'), point('/s', 3, 'planned')]));
  assert.equal(p.states.get(2), 'running', 'an event is newer than the manifest read');
  assert.equal(sweepStatusText([p]), '$(sync~spin) Sweep grid-T 1/4 completed · 1 running · 1 pending');
  const q = newSweepProgress('/w/f/kd-experiment.json', 'f', 'slurm');
  assert.equal(sweepStatusText([p, q]), '$(sync~spin) Sweep grid-T 1/4 completed · 1 running · 1 pending (+1 sweep)');
  assert.equal(sweepStatusText([q]), '$(sync~spin) Sweep f starting');
  assert.equal(sweepStatusText([]), '');
});

test('exit reports: all completed, cancelled, refused (exit 2) with the CLI\'s message, a crash', () => {
  const p = started(newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local'));
  p.name = 'grid-T';
  applySweepEvent(p, { event: 'sweep-finished', sweepDir: '/w/e/sweeps/s', state: 'completed', counts: counts({ completed: 4 }) });
  assert.deepEqual(sweepExitReport(p, exit(0), true), { severity: 'info', message: 'LLaVA-KD: Sweep grid-T finished: 4 completed.', actions: ['Open Dashboard', 'Show Log'] });

  const c = started(newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local'));
  applySweepEvent(c, { event: 'sweep-point', index: 0, key: 'k0', state: 'completed', runDir: '/w/e/runs/s-p000' });
  applySweepEvent(c, { event: 'sweep-point', index: 1, key: 'k1', state: 'cancelled', runDir: '/w/e/runs/s-p001' });
  // SIGTERM before the CLI could print sweep-finished (or it was killed after the grace period).
  assert.equal(sweepExitReport(c, exit(null, { signal: 'SIGKILL', stopRequested: true, killed: true }), false).message,
    'LLaVA-KD: Sweep 20250301-120000-grid-T cancelled: 1 completed, 1 cancelled, 2 planned (killed after the grace period).');
  applySweepEvent(c, { event: 'sweep-finished', sweepDir: '/w/e/sweeps/s', state: 'cancelled', counts: counts({ completed: 1, cancelled: 3 }) });
  assert.deepEqual(sweepExitReport(c, exit(130, { stopRequested: true }), false), { severity: 'info', message: 'LLaVA-KD: Sweep 20250301-120000-grid-T cancelled: 1 completed, 3 cancelled.', actions: ['Show Log'] });

  // Exit 2: the CLI's message, the file named as the workspace shows it, Open Config at its line.
  const bad = newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local');
  applySweepEvent(bad, { event: 'error', message: '/w/e/kd-experiment.json:4:5: sweep.grid.distill.temprature: expected a config path, found "distill.temprature" (unknown config path (did you mean "distill.temperature"?))\n/w/e/kd-experiment.json:9: sweep.seeds: expected a count ≥ 1, found 0 (the seeds of every point)' });
  assert.deepEqual(sweepExitReport(bad, exit(2), false, 'e/kd-experiment.json'), {
    severity: 'error',
    message: 'LLaVA-KD: Sweep of exp refused: e/kd-experiment.json:4:5: sweep.grid.distill.temprature: expected a config path, found "distill.temprature" (unknown config path (did you mean "distill.temperature"?)) (+1 more in the log)',
    actions: ['Open Config', 'Show Log'],
    line: 4,
  });
  const point = newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local');
  applySweepEvent(point, { event: 'error', message: '/w/e/kd-experiment.json: sweep point 2 (variant=main distill.temperature=0 seed=0): distill.temperature: expected number > 0, found 0 (temperature)' });
  const r = sweepExitReport(point, exit(2), false, 'e/kd-experiment.json');
  assert.equal(r.message, 'LLaVA-KD: Sweep of exp refused: e/kd-experiment.json: sweep point 2 (variant=main distill.temperature=0 seed=0): distill.temperature: expected number > 0, found 0 (temperature)');
  assert.equal(r.line, undefined, 'no line to go to');
  const quiet = newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local');
  pushStderr(quiet, 'llava-kd: /w/e/kd-experiment.json: no "sweep" section; add one');
  assert.match(sweepExitReport(quiet, exit(2), false).message, /refused: \/w\/e\/kd-experiment\.json: no "sweep" section; add one$/, 'stderr when no error event came');
  assert.match(sweepExitReport(newSweepProgress('/f', 'exp', 'local'), exit(2), false).message, /refused: invalid sweep section or input \(exit code 2\)$/);

  const crash = started(newSweepProgress('/w/e/kd-experiment.json', 'exp', 'local'));
  assert.deepEqual(sweepExitReport(crash, exit(null, { signal: 'SIGSEGV' }), false), { severity: 'error', message: 'LLaVA-KD: Sweep 20250301-120000-grid-T failed (killed by SIGSEGV)', actions: ['Show Log'] });
  pushStderr(crash, 'RangeError: out of memory');
  assert.equal(sweepExitReport(crash, exit(1), false).message, 'LLaVA-KD: Sweep 20250301-120000-grid-T failed: RangeError: out of memory');
});

test('stderr keeps its last lines', () => {
  const p = newSweepProgress('/f', 'e', 'local');
  for (let i = 0; i < 40; i++) pushStderr(p, `l${i}`, 30);
  assert.deepEqual([p.stderrTail.length, p.stderrTail[0]], [30, 'l10']);
});
