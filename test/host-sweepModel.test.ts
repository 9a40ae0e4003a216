// Tests of src/host/core/sweepModel.ts on hand-made sweep folders (test/helpers/sweepFixture.ts):
// effective state of a dead follower, groups, count phrases, elapsed times, run folders and log files.
import { pointRunDir, readSweep } from '../src/common/sweepFormat';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canCancel, countsPhrase, countsSentence, hasSweepSection, pointElapsedSeconds, pointLogFile, pointsPhrase, summarizeSweep, sweepGroups, sweepRunDirs, sweepsOf } from '../src/host/core/sweepModel';
import { SWEEP_ID, manifest, point, standardSweep, tempExperiment, writeManifest } from './helpers/sweepFixture';

test('sweepsOf: the manifest of each sweep folder, newest first; an unreadable one says why', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  standardSweep(e.dir);
  const older = writeManifest(e.dir, { ...manifest(e.dir, []), id: '20250201-000000-old', name: 'old', state: 'completed' });
  fs.mkdirSync(path.join(e.dir, 'sweeps', '20250401-000000-broken'));
  fs.writeFileSync(path.join(e.dir, 'sweeps', '20250401-000000-broken', 'sweep.json'), '{"id": ');
  const got = sweepsOf(e.dir);
  assert.deepEqual(got.map((s) => s.id), ['20250401-000000-broken', SWEEP_ID, '20250201-000000-old']);
  assert.equal(got[0].state, 'unreadable');
  assert.match(got[0].error ?? '', /sweep\.json: /);
  assert.equal(got[1].state, 'running', 'its follower (this process) is alive');
  assert.equal(got[1].manifest?.points.length, 4);
  assert.equal(got[2].dir, older);
  assert.deepEqual(sweepsOf(path.join(e.dir, 'nowhere')), []);
});

test('a running sweep whose follower died on this host is stopped; on another host nothing can be told', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  const dir = standardSweep(e.dir, { followerPid: 4242, followerHost: 'login1' });
  const read = readSweep(dir);
  const dead = (): boolean => false;
  assert.deepEqual([summarizeSweep(read, 'login1', dead).state, summarizeSweep(read, 'login1', dead).followerGone], ['stopped', true]);
  assert.equal(summarizeSweep(read, 'login2', dead).state, 'running', 'a pid of another host is not checked');
  assert.equal(summarizeSweep(read, 'login1', () => true).state, 'running');
  const noHost = { ...read, manifest: { ...(read as { manifest: object }).manifest, followerHost: undefined } } as typeof read;
  assert.equal(summarizeSweep(noHost, 'anywhere', dead).state, 'stopped', 'without a host the pid is taken as this host\'s');
  assert.equal(summarizeSweep({ ...read, manifest: { ...(read as { manifest: object }).manifest, state: 'completed' } } as typeof read, 'login1', dead).state, 'completed');
});

test('groups: points differing only in their seed, in point order; variant= left out when there is one variant', () => {
  const d = '/w/e/sweeps/s';
  const pts = [point(d, 3, 'planned'), point(d, 0, 'completed'), point(d, 2, 'running'), point(d, 1, 'failed')];
  const g = sweepGroups({ points: pts });
  assert.deepEqual(g.map((x) => [x.label, x.points.map((p) => p.index)]), [['distill.temperature=1', [0, 1]], ['distill.temperature=2', [2, 3]]]);
  // Two variants: the variant stays in the label.
  const two = [point(d, 0, 'planned'), { ...point(d, 1, 'planned'), variant: 'no-dpt', group: 'variant=no-dpt distill.temperature=1', seed: 0 }];
  assert.deepEqual(sweepGroups({ points: two }).map((x) => x.label), ['variant=main distill.temperature=1', 'variant=no-dpt distill.temperature=1']);
  // One variant and no grid: the variant's name, not an empty label.
  assert.deepEqual(sweepGroups({ points: [{ ...point(d, 0, 'planned'), group: 'variant=main' }] }).map((x) => x.label), ['main']);
});

test('count phrases and sentences', () => {
  const d = '/w/e/sweeps/s';
  const pts = ['completed', 'completed', 'completed', 'completed', 'completed', 'running', 'failed', 'planned'].map((s, i) => point(d, i, s as never));
  assert.equal(pointsPhrase(pts), '5/8 completed · 1 running · 1 failed');
  assert.equal(countsPhrase({ completed: 2, pending: 3 }, 6), '2/6 completed · 3 pending');
  assert.equal(countsSentence({ completed: 7, failed: 1, planned: 0 }), '7 completed, 1 failed');
  assert.equal(countsSentence({ cancelled: 5, completed: 3 }), '3 completed, 5 cancelled');
  assert.equal(countsSentence({}), 'no points');
});

test('elapsed time: to the end, or to now while it runs; nothing before the start', () => {
  const d = '/w/e/sweeps/s';
  assert.equal(pointElapsedSeconds(point(d, 0, 'completed'), 0), 65);
  assert.equal(pointElapsedSeconds(point(d, 2, 'running'), Date.parse('2025-03-01T12:00:30.000Z')), 30);
  assert.equal(pointElapsedSeconds(point(d, 3, 'planned'), Date.now()), undefined);
});

test('run folders and log files of points', (t) => {
  const e = tempExperiment();
  t.after(e.cleanup);
  const dir = standardSweep(e.dir);
  const m = (readSweep(dir) as { manifest: import('../src/common/sweepFormat').SweepManifest }).manifest;
  assert.equal(pointRunDir(dir, m.points[1]), path.join(e.dir, 'runs', `${SWEEP_ID}-p001`));
  assert.deepEqual(sweepRunDirs({ dir, manifest: m }, fs.existsSync), [0, 1, 2].map((i) => path.join(e.dir, 'runs', `${SWEEP_ID}-p00${i}`)), 'p003 has no run folder yet');
  assert.deepEqual(pointLogFile(m, 1, 'stderr'), { file: path.join(dir, 'logs', 'p001.err') });
  assert.match((pointLogFile(m, 3, 'stdout') as { error: string }).error, /^p003 of sweep grid-T has no stdout file yet \(it is planned/);
  assert.match((pointLogFile(m, 9, 'stdout') as { error: string }).error, /has no point 9/);
});

test('what a cancel can act on: a running sweep, or one with points still queued or running', () => {
  const d = '/w/e/sweeps/s';
  const s = (state: 'running' | 'stopped' | 'completed', states: string[]) => ({ dir: d, id: 's', state, manifest: manifest('/w/e', states.map((x, i) => point(d, i, x as never))) });
  assert.equal(canCancel(s('running', ['completed'])), true);
  assert.equal(canCancel(s('stopped', ['completed', 'pending'])), true, 'Slurm jobs outlive their follower');
  assert.equal(canCancel(s('stopped', ['completed', 'failed', 'planned'])), false);
  assert.equal(canCancel({ dir: d, id: 's', state: 'unreadable' }), false);
});

test('hasSweepSection reads JSONC; a broken text has none', () => {
  assert.equal(hasSweepSection('{ // c\n "preset": "tiny", "sweep": { "seeds": 2 } }'), true);
  assert.equal(hasSweepSection('{ "preset": "tiny", "stages": { "sweep": 1 } }'), false, 'only a top-level section counts');
  assert.equal(hasSweepSection('[1]'), false);
  assert.equal(hasSweepSection(''), false);
  assert.equal(hasSweepSection('{"sweep": null}'), true, 'a bad section is there (the validation reports it)');
});
