// Tests of media/lib/runTable.ts: config differences, seed groups, accuracies, gap closed, the
// seed-paired KD − baseline and KD − control with their intervals, sorting and filtering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EvalLine } from '../src/common/runFormat';
import { buildRows, differingKeys, filterRows, isControl, sortRows, verdict, type TableRun } from '../media/lib/runTable';

const ev = (model: string, split: 'val' | 'test', accuracy: number, byType: Record<string, number> = {}, step = 10): EvalLine => ({
  time: '2026-01-01T00:00:00Z', stage: `${model === 'teacher' ? 'teacher' : model}/sft`, step, globalStep: step, model, split, accuracy, byType, questions: 100,
} as unknown as EvalLine);

const run = (key: string, seed: number, cfg: Record<string, string | number | boolean>, acc: { kd: number; teacher?: number; baseline?: number; val?: number; color?: number }): TableRun => ({
  key, runId: key, label: key,
  config: { name: 'exp', seed, 'pipeline.kd': '["dpt","sft","dft"]', 'stages.dft.loss.rel': 0.5, ...cfg },
  evals: [
    ev('kd', 'val', 0.1, {}, 5), ev('kd', 'val', acc.val ?? acc.kd),
    ev('kd', 'test', acc.kd, { color: acc.color ?? acc.kd, count: 0.2 }),
    ...(acc.teacher !== undefined ? [ev('teacher', 'test', acc.teacher)] : []),
    ...(acc.baseline !== undefined ? [ev('baseline', 'test', acc.baseline)] : []),
  ],
});

const near = (a: number | undefined, b: number, msg?: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} ≈ ${b}`);

test('run table: only the config values that differ; name never; seed first', () => {
  assert.deepEqual(differingKeys([{ name: 'a', seed: 1, x: 1, y: 2 }, { name: 'b', seed: 2, x: 1, y: 3 }]), ['seed', 'y']);
  assert.deepEqual(differingKeys([{ seed: 1 }]), [], 'one run: nothing differs');
  assert.equal(isControl({ 'pipeline.kd': '["pt","sft"]' }), true);
  assert.equal(isControl({ 'pipeline.kd': '["dpt","sft","dft"]' }), false);
  assert.equal(isControl({ 'pipeline.kd': '[]' }), false);
});

test('run table: one row per run with final val/test accuracy, per type, gap closed and KD − baseline', () => {
  const { rows, keys } = buildRows([run('a', 1, {}, { kd: 0.6, teacher: 0.8, baseline: 0.4, val: 0.55 }), run('b', 2, {}, { kd: 0.5, teacher: 0.8, baseline: 0.45 })], false);
  assert.deepEqual(keys, ['seed']);
  assert.equal(rows.length, 2);
  const a = rows[0];
  near(a.valKd?.mean, 0.55, 'the last val eval, not the first');
  near(a.testKd?.mean, 0.6);
  near(a.byType.color.mean, 0.6);
  near(a.gap?.value, 0.5, '(0.6 − 0.4) / (0.8 − 0.4)');
  near(a.kdMinusBaseline?.mean, 0.2);
  assert.equal(a.kdMinusBaseline?.n, 1);
  assert.equal(verdict(a.kdMinusBaseline!), 'one seed');
  assert.equal(a.kdMinusControl, undefined, 'no control shown');
});

test('run table: seeds grouped, mean ± std and the paired 95 % interval; a control paired by seed', () => {
  const kd = [run('k1', 1, {}, { kd: 0.60, teacher: 0.8, baseline: 0.40 }), run('k2', 2, {}, { kd: 0.62, teacher: 0.8, baseline: 0.44 }), run('k3', 3, {}, { kd: 0.58, teacher: 0.8, baseline: 0.39 })];
  const ctl = [1, 2, 3].map((s, i) => run(`c${s}`, s, { 'pipeline.kd': '["pt","sft"]', 'stages.sft.steps': 120 }, { kd: [0.50, 0.55, 0.50][i], baseline: [0.40, 0.44, 0.39][i] }));
  const { rows, keys } = buildRows([kd[1], ...kd.slice(0, 1), kd[2], ...ctl], true);
  assert.deepEqual(keys, ['seed', 'pipeline.kd', 'stages.sft.steps']);
  assert.equal(rows.length, 2);
  const g = rows[0];
  assert.equal(g.kind, 'group');
  assert.deepEqual(g.seeds, [1, 2, 3]);
  assert.equal(g.config.seed, '1, 2, 3');
  assert.equal(g.testKd?.n, 3);
  near(g.testKd?.mean, 0.6);
  near(g.testKd?.std, 0.02, 'sample std of 0.60, 0.62, 0.58');
  // KD − baseline per seed: 0.20, 0.18, 0.19 -> mean 0.19, std 0.01, t(2) = 4.303: ± 4.303 · 0.01 / √3.
  near(g.kdMinusBaseline?.mean, 0.19);
  near(g.kdMinusBaseline?.lo, 0.19 - 4.303 * 0.01 / Math.sqrt(3));
  assert.equal(verdict(g.kdMinusBaseline!), 'better');
  // KD − control per seed: 0.10, 0.07, 0.08.
  near(g.kdMinusControl?.mean, 0.25 / 3);
  assert.equal(g.kdMinusControl?.n, 3);
  assert.equal(rows[1].control, true);
  assert.equal(rows[1].kdMinusControl, undefined, 'a control is not compared with itself');
  assert.ok(rows[1].label.includes('3 seeds'));
  assert.equal(verdict({ n: 3, mean: 0, std: 1, lo: -1, hi: 1 }), 'unclear');
  assert.equal(verdict({ n: 3, mean: -1, std: 0.1, lo: -1.2, hi: -0.8 }), 'worse');
});

test('run table: sorting puts missing values last, filtering matches config and label words', () => {
  const { rows } = buildRows([run('a', 1, { 'stages.dft.loss.rel': 0 }, { kd: 0.5 }), run('b', 2, { 'stages.dft.loss.rel': 1 }, { kd: 0.7 }), { key: 'c', runId: 'c', label: 'c', config: { seed: 3, 'stages.dft.loss.rel': 2 }, evals: [] }], false);
  assert.deepEqual(sortRows(rows, 'testKd', 'desc').map((r) => r.label), ['b', 'a', 'c']);
  assert.deepEqual(sortRows(rows, 'testKd', 'asc').map((r) => r.label), ['a', 'b', 'c']);
  assert.deepEqual(sortRows(rows, 'config:stages.dft.loss.rel', 'desc').map((r) => r.label), ['c', 'b', 'a']);
  assert.deepEqual(filterRows(rows, 'stages.dft.loss.rel=1').map((r) => r.label), ['b']);
  assert.deepEqual(filterRows(rows, '  ').length, 3);
  assert.deepEqual(filterRows(rows, 'C').map((r) => r.label), ['c'], 'case-insensitive label match');
});

test('run table: a row against a reference row, paired by seed when the seeds match, else Welch', async () => {
  const { versusReference } = await import('../media/lib/runTable');
  const a = [1, 2, 3].map((s, i) => run(`a${s}`, s, { 'stages.dft.loss.rel': 0 }, { kd: [0.50, 0.52, 0.54][i] }));
  const b = [1, 2, 3].map((s, i) => run(`b${s}`, s, { 'stages.dft.loss.rel': 1 }, { kd: [0.55, 0.58, 0.57][i] }));
  const { rows } = buildRows([...a, ...b], true);
  const [ga, gb] = rows;
  const v = versusReference(gb, ga)!;
  assert.equal(v.paired, true);
  near(v.diff.mean, (0.05 + 0.06 + 0.03) / 3, 'mean of the per-seed differences');
  assert.equal(v.diff.n, 3);
  // Seeds that differ: independent means.
  const c = [4, 5].map((s, i) => run(`c${s}`, s, { 'stages.dft.loss.rel': 2 }, { kd: [0.6, 0.62][i] }));
  const gc = buildRows([...a, ...c], true).rows[1];
  const w = versusReference(gc, ga)!;
  assert.equal(w.paired, false);
  near(w.diff.mean, 0.61 - 0.52);
  assert.ok(Number.isFinite(w.diff.lo));
  // One run against a group: the difference, no interval.
  const single = buildRows([run('s', 9, { 'stages.dft.loss.rel': 3 }, { kd: 0.7 })], false).rows[0];
  const o = versusReference(single, ga)!;
  assert.equal(verdict(o.diff), 'one seed');
  near(o.diff.mean, 0.7 - 0.52);
});
