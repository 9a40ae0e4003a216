/**
 * The tables of `bench-kd`: test accuracy per model over seeds (mean, sample std, 95 % interval,
 * in-distribution vs held-out combinations, per question type) beside the majority-answer and
 * chance baselines, the seed-paired differences KD − baseline and KD − control, the fraction of
 * the teacher-baseline gap closed, and the check of the goals stated before measuring. Markdown
 * and JSON, with no machine paths. Pure.
 */
import type { EvalLine } from '../../common/runFormat';
import { ci95, gapClosed, mean, pairedDiff, type Interval } from '../../common/stats';

/** Model names the verdict refers to. */
export const BENCH_MODELS = {
  teacher: 'teacher',
  baseline: 'baseline pt-sft',
  kd: 'LLaVA-KD dpt-sft-dft',
  control: 'control pt-sft-long (CE only)',
} as const;

/** The paper's stage-ablation order, low to high (our model names). */
const STAGE_ORDER = ['baseline pt-sft', 'LLaVA-KD dpt-sft', 'LLaVA-KD pt-sft-dft', 'LLaVA-KD dpt-sft-dft'];

export interface BenchResult {
  model: string;
  seed: number;
  test: EvalLine;
  seconds: number;
}

export interface Reference {
  name: string;
  overall: number;
  byType: Record<string, number>;
}

export interface BenchMeta {
  preset: string;
  seeds: number[];
  /** Free text lines for the header (how the teacher was obtained, timings). */
  notes: string[];
  references: Reference[];
}

const pct = (v: number): string => (Number.isFinite(v) ? (v * 100).toFixed(1) : '-');
const pts = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}` : '-');
const interval = (i: Interval): string => `${pct(i.mean)} ± ${pct(i.std)} [${pct(i.lo)}, ${pct(i.hi)}]`;
const diffText = (i: Interval): string => `${pts(i.mean)} points, 95 % CI [${pts(i.lo)}, ${pts(i.hi)}] over ${i.n} seeds`;

export function benchTables(results: BenchResult[], meta: BenchMeta): { md: string; json: unknown } {
  const models = [...new Set(results.map((r) => r.model))];
  const bySeed = (model: string, f: (e: EvalLine) => number | undefined): Map<number, number> => {
    const m = new Map<number, number>();
    for (const r of results.filter((x) => x.model === model)) {
      const v = f(r.test);
      if (v !== undefined) m.set(r.seed, v);
    }
    return m;
  };
  const types = [...new Set(results.flatMap((r) => Object.keys(r.test.byType)))].sort();
  const summary = Object.fromEntries(models.map((m) => {
    const all = bySeed(m, (e) => e.accuracy);
    return [m, {
      seeds: [...all.keys()],
      accuracy: ci95([...all.values()]),
      inDist: ci95([...bySeed(m, (e) => e.byDistribution?.inDist).values()]),
      heldOut: ci95([...bySeed(m, (e) => e.byDistribution?.heldOut).values()]),
      byType: Object.fromEntries(types.map((t) => [t, ci95([...bySeed(m, (e) => e.byType[t]).values()])])),
      runSeconds: mean(results.filter((r) => r.model === m).map((r) => r.seconds)),
    }];
  }));
  const order = [...models].sort((a, b) => summary[b].accuracy.mean - summary[a].accuracy.mean);
  const lines = [
    `# LLaVA-KD at our scale (preset \`${meta.preset}\`, ${meta.seeds.length} seeds, test split)`,
    '',
    ...meta.notes,
    '',
    'Goals stated before measuring: teacher − baseline ≥ 25 points; LLaVA-KD closes ≥ 50 % of that gap; KD − control > 0 with its 95 % interval above zero; the paper\'s stage-ablation order PT-SFT < DPT-SFT < PT-SFT-DFT < DPT-SFT-DFT.',
    '',
    'Accuracy in %: mean ± sample std [95 % t interval of the mean] over seeds. In-dist = questions about trained colour-shape combinations; held-out = questions about the combinations held out of training (compositional generalisation).',
    '',
    `| model | seeds | test acc | in-dist | held-out | ${types.join(' | ')} | run s |`,
    `|---|---|---|---|---|${types.map(() => '---').join('|')}|---|`,
    ...order.map((m) => {
      const s = summary[m];
      return `| ${m} | ${s.accuracy.n} | ${interval(s.accuracy)} | ${pct(s.inDist.mean)} | ${pct(s.heldOut.mean)} | ${types.map((t) => pct(s.byType[t].mean)).join(' | ')} | ${s.runSeconds.toFixed(0)} |`;
    }),
    ...meta.references.map((r) => `| ${r.name} | - | ${pct(r.overall)} | - | - | ${types.map((t) => pct(r.byType[t] ?? NaN)).join(' | ')} | - |`),
  ];
  const acc = (m: string) => bySeed(m, (e) => e.accuracy);
  const json: Record<string, unknown> = { preset: meta.preset, seeds: meta.seeds, models: summary, references: meta.references };
  const has = (m: string) => models.includes(m);
  lines.push('', '## Paired differences (per seed, then the mean and its 95 % t interval)', '');
  const diffs: Record<string, Interval> = {};
  if (has(BENCH_MODELS.kd) && has(BENCH_MODELS.baseline)) diffs['KD − baseline'] = pairedDiff(acc(BENCH_MODELS.kd), acc(BENCH_MODELS.baseline));
  if (has(BENCH_MODELS.kd) && has(BENCH_MODELS.control)) diffs['KD − control'] = pairedDiff(acc(BENCH_MODELS.kd), acc(BENCH_MODELS.control));
  if (has(BENCH_MODELS.teacher) && has(BENCH_MODELS.baseline)) diffs['teacher − baseline'] = pairedDiff(acc(BENCH_MODELS.teacher), acc(BENCH_MODELS.baseline));
  for (const [k, v] of Object.entries(diffs)) lines.push(`- ${k}: ${diffText(v)}`);
  let gap: ReturnType<typeof gapClosed> | undefined;
  if (has(BENCH_MODELS.kd) && has(BENCH_MODELS.baseline) && has(BENCH_MODELS.teacher)) {
    gap = gapClosed(acc(BENCH_MODELS.teacher), acc(BENCH_MODELS.baseline), acc(BENCH_MODELS.kd));
    lines.push(`- fraction of the teacher − baseline gap closed by LLaVA-KD: ${pct(gap.value)} %, 95 % seed-bootstrap interval [${pct(gap.lo)}, ${pct(gap.hi)}]`);
  }
  json.differences = diffs;
  json.gapClosed = gap;

  lines.push('', '## The goals, checked', '');
  const check = (ok: boolean | undefined, text: string) => lines.push(`- ${ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met'}: ${text}`);
  const tb = diffs['teacher − baseline'];
  check(tb ? tb.mean >= 0.25 : undefined, `teacher − baseline ≥ 25 points (${tb ? pts(tb.mean) : '-'})`);
  check(gap ? gap.value >= 0.5 : undefined, `LLaVA-KD closes ≥ 50 % of the gap (${gap ? pct(gap.value) : '-'} %)`);
  const kc = diffs['KD − control'];
  check(kc && kc.n > 1 ? kc.lo > 0 : undefined, `KD − control > 0 with the 95 % interval above zero (${kc ? diffText(kc) : '-'})`);
  const stage = STAGE_ORDER.filter(has);
  if (stage.length === STAGE_ORDER.length) {
    const means = stage.map((m) => summary[m].accuracy.mean);
    check(means.every((v, i) => i === 0 || v > means[i - 1]), `stage-ablation order ${stage.map((m, i) => `${m.replace('LLaVA-KD ', '')} ${pct(means[i])}`).join(' < ')}`);
  } else {
    check(undefined, 'stage-ablation order (not every variant ran)');
  }
  return { md: lines.join('\n') + '\n', json };
}
