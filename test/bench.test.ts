/**
 * bench-kd statistics and tables: t quantiles, intervals, seed-paired differences and the gap
 * bootstrap against hand-computed values; the tables from hand-made results; and a tiny bench
 * run end to end (2 seeds, the control variant) whose Markdown and JSON carry the intervals and
 * no machine paths.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ci95, gapClosed, pairedDiff, sampleStd, tQuantile975 } from '../src/common/stats';
import { benchTables, type BenchResult } from '../src/trainer/bench/benchTables';
import type { EvalLine } from '../src/common/runFormat';
import { cleanupTmp, explain, runCli, tmpDir } from './helpers/cli';

after(cleanupTmp);

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('t quantiles, sample std and the 95 % interval of a mean (hand-computed)', () => {
  close(tQuantile975(4), 2.776);
  close(tQuantile975(1), 12.706);
  close(tQuantile975(100), 1.96);
  close(sampleStd([1, 2, 3, 4, 5]), Math.sqrt(2.5));
  const i = ci95([1, 2, 3, 4, 5]);
  close(i.mean, 3);
  close(i.hi - i.mean, 2.776 * Math.sqrt(2.5) / Math.sqrt(5));
  close(i.lo, 3 - 2.776 * Math.sqrt(2.5) / Math.sqrt(5));
  assert.ok(Number.isNaN(ci95([0.5]).lo), 'no interval from one seed');
});

test('pairedDiff pairs by seed (missing seeds dropped); gapClosed value and a seeded bootstrap interval', () => {
  const a = new Map([[0, 0.6], [1, 0.7], [2, 0.65], [3, 0.9]]);
  const b = new Map([[0, 0.5], [1, 0.55], [2, 0.6]]);
  const d = pairedDiff(a, b);
  assert.equal(d.n, 3);
  close(d.mean, (0.1 + 0.15 + 0.05) / 3);
  close(d.std, 0.05);
  const t = new Map([[0, 0.9], [1, 0.9], [2, 0.9]]);
  const g = gapClosed(t, b, a);
  close(g.value, (0.65 - 0.55) / (0.9 - 0.55));
  assert.ok(g.lo <= g.value && g.value <= g.hi, `${g.lo} ≤ ${g.value} ≤ ${g.hi}`);
  assert.deepEqual(gapClosed(t, b, a), g, 'seeded: the same interval every time');
});

test('benchTables: intervals, references, paired differences and the goals check', () => {
  const ev = (accuracy: number, heldOut = accuracy - 0.1): EvalLine => ({ time: '', stage: 'kd/dft', step: 1, globalStep: 1, split: 'test', model: 'kd', accuracy, byType: { color: accuracy }, n: 100, byDistribution: { inDist: accuracy, nInDist: 80, heldOut, nHeldOut: 20 } });
  const rows: BenchResult[] = [];
  const add = (model: string, vals: number[]) => vals.forEach((v, seed) => rows.push({ model, seed, test: ev(v), seconds: 10 }));
  add('teacher', [0.9, 0.92, 0.91]);
  add('baseline pt-sft', [0.5, 0.52, 0.51]);
  add('LLaVA-KD dpt-sft-dft', [0.7, 0.74, 0.72]);
  add('control pt-sft-long (CE only)', [0.6, 0.61, 0.62]);
  const { md, json } = benchTables(rows, { preset: 'p', seeds: [0, 1, 2], notes: ['note'], references: [{ name: 'majority answer per type', overall: 0.3, byType: { color: 0.2 } }] });
  assert.match(md, /\| teacher \| 3 \| 91\.0 ± 1\.0 \[88\.5, 93\.5\] \| 91\.0 \| 81\.0 \| 91\.0 \| 10 \|/);
  assert.match(md, /\| majority answer per type \| - \| 30\.0 \| - \| - \| 20\.0 \| - \|/);
  assert.match(md, /- KD − baseline: \+21\.0 points, 95 % CI \[\+18\.5, \+23\.5\] over 3 seeds/);
  assert.match(md, /- KD − control: \+11\.0 points/);
  assert.match(md, /- met: teacher − baseline ≥ 25 points \(\+40\.0\)/);
  assert.match(md, /- met: LLaVA-KD closes ≥ 50 % of the gap \(52\.5 %\)/);
  assert.match(md, /- met: KD − control > 0 with the 95 % interval above zero/);
  assert.match(md, /- not measured: stage-ablation order/);
  assert.equal(JSON.stringify(json).includes('/tmp'), false);
});

test('bench-kd (tiny, 2 seeds, control): tables with intervals, no machine paths', { timeout: 600_000 }, async () => {
  const out = tmpDir('bench-out');
  const work = tmpDir('bench-work');
  const r = await runCli(['bench-kd', '--preset', 'tiny', '--seeds', '2', '--ablations', 'pt-sft-long', '--out', out, '--work', work], { timeoutMs: 580_000 });
  assert.equal(r.code, 0, explain(r));
  const md = fs.readFileSync(path.join(out, 'kd-table.md'), 'utf8');
  for (const m of ['teacher', 'baseline pt-sft', 'LLaVA-KD dpt-sft-dft', 'control pt-sft-long (CE only)', 'majority answer per type', 'chance (uniform']) assert.ok(md.includes(`| ${m}`), `row ${m}\n${md}`);
  assert.match(md, /\| LLaVA-KD dpt-sft-dft \| 2 \| [\d.]+ ± [\d.]+ \[-?[\d.]+, [\d.]+\]/);
  assert.match(md, /- KD − control: [+-][\d.]+ points, 95 % CI \[[+-][\d.]+, [+-][\d.]+\] over 2 seeds/);
  const json = fs.readFileSync(path.join(out, 'kd-table.json'), 'utf8');
  for (const dir of [work, out, process.env.HOME ?? '/root']) assert.ok(!json.includes(dir) && !md.includes(dir), `no machine path ${dir}`);
  const parsed = JSON.parse(json) as { models: Record<string, { seeds: number[] }> };
  assert.deepEqual(parsed.models['LLaVA-KD dpt-sft-dft'].seeds.sort(), [0, 1]);
});

test('welchDiff: independent means with Welch-Satterthwaite degrees of freedom (hand-computed)', async () => {
  const { welchDiff } = await import('../src/common/stats');
  // a = 1,2,3 (mean 2, var 1), b = 4,6,8 (mean 6, var 4): se² = 1/3 + 4/3 = 5/3,
  // df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = (25/9) / (17/18) = 2.94 -> 2, t = 4.303.
  const d = welchDiff([1, 2, 3], [4, 6, 8]);
  assert.equal(d.mean, -4);
  assert.ok(Math.abs(d.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.ok(Math.abs(d.lo - (-4 - 4.303 * Math.sqrt(5 / 3))) < 1e-9);
  assert.ok(Math.abs(d.hi - (-4 + 4.303 * Math.sqrt(5 / 3))) < 1e-9);
  const one = welchDiff([1], [4, 6]);
  assert.equal(one.mean, -4);
  assert.ok(Number.isNaN(one.lo), 'one value: no interval');
});
