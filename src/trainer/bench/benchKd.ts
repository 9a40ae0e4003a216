/**
 * `bench-kd` (npm run bench:kd): the paper's comparison at our scale, as a sweep. The bench folder
 * holds one experiment whose `sweep` section (benchSweep) has a variant per model: `main` (vision,
 * teacher, PT-SFT baseline, DPT-SFT-DFT student) and each stage-ablation variant of the student
 * track, which starts from the `main` point of its seed (`startFrom`, `--stages kd`). `llava-kd
 * sweep` runs it (local engine, two points at a time on 2 cores, or a Slurm job array with
 * --engine slurm) and resumes it (--reuse). Writes bench/results/kd-table.{md,json}: mean, std
 * and 95 % intervals over seeds, the seed-paired differences and the goals check (benchTables.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { presetConfig } from '../config';
import { generateWorld } from '../data';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE, type EvalLine, type RunStatus } from '../../common/runFormat';
import { evalKey, lastPerKey, readJsonl } from '../../common/runReader';
import { listSweeps, type SweepEngine, type SweepManifest } from '../../common/sweepFormat';
import { benchTables, type BenchResult } from './benchTables';
import { majorityBaseline } from '../cli/demo';
import { sweepCommand } from '../sweep/sweepCommand';

/**
 * The sweep section of the bench: `main` plus one variant per ablation. An ablation is stage kinds
 * joined by `-` (the kd track), a `-long` suffix (CE-only SFT as long as SFT + DFT together: the
 * control that separates distillation from more steps), a `:<preset>` suffix (the kd track under
 * that preset's loss weights, e.g. terms-res).
 */
export function benchSweep(preset: string, seeds: number, ablations: string[]): Record<string, unknown> {
  const base = presetConfig(preset).stages;
  const variants: Record<string, unknown> = { main: {} };
  const startFrom: Record<string, unknown> = {};
  for (const v of ablations) {
    const [track, withPreset] = v.split(':');
    const long = track.endsWith('-long');
    const kinds = (long ? track.slice(0, -5) : track).split('-');
    const name = v.replace(':', '_');
    variants[name] = {
      ...(withPreset ? { preset: withPreset } : {}),
      pipeline: { kd: kinds },
      ...(long ? { stages: { sft: { steps: base.sft.steps + base.dft.steps } } } : {}),
    };
    startFrom[name] = { variant: 'main', stages: 'kd' };
  }
  return { name: 'bench-kd', seeds, variants, ...(ablations.length ? { startFrom } : {}), parallel: 2 };
}

/** Wall seconds of a run folder (start to end). */
function runSeconds(runDir: string): number | undefined {
  const st = listRunsStatus(runDir);
  return st?.endedAt ? (Date.parse(st.endedAt) - Date.parse(st.startedAt)) / 1000 : undefined;
}

/**
 * Which teacher the seeds used: with the teacher store (teacher.cache reuse) every seed's main
 * run reuses one stored teacher (teacher.seed is fixed, the student seeds vary), else each trained
 * its own.
 */
function teacherNote(mainRuns: string[]): string {
  const uses = mainRuns.map((d) => listRunsStatus(d)?.teacherStore);
  const keys = [...new Set(uses.map((u) => u?.key).filter(Boolean))];
  if (uses.length && uses.every((u) => u) && keys.length === 1) {
    const trained = uses.filter((u) => u!.source === 'trained').length;
    return `One teacher for all seeds: the stored teacher ${keys[0]} (teacher.seed fixed; only the students' seed varies)${trained ? `, trained by ${trained} of the main runs and reused by the others` : ', reused by every main run (trained before this bench)'}; its row therefore has no seed spread. Each seed's main run trains the baseline and the DPT-SFT-DFT student; every variant of that seed starts from those checkpoints and reads the same teacher-output cache entry.`;
  }
  return 'Each seed trains its own vision encoder and teacher in its main run (with the baseline and the DPT-SFT-DFT student); every variant of that seed starts from those checkpoints and reads the same teacher-output cache entry.';
}

/** The wall time from the first run's start to the last run's end (what a full bench took, also when the tables are regenerated with --reuse). */
function wallSpan(runDirs: string[]): string {
  const st = runDirs.map((d) => listRunsStatus(d)).filter((s): s is RunStatus => !!s?.endedAt);
  if (!st.length) return '';
  const t0 = Math.min(...st.map((s) => Date.parse(s.startedAt)));
  const t1 = Math.max(...st.map((s) => Date.parse(s.endedAt!)));
  return `; from the first run's start to the last run's end: ${((t1 - t0) / 60000).toFixed(1)} min`;
}

/** Training seconds recorded in the manifest of the stored teacher a run used. */
function storedTeacherSeconds(runDir: string): number | undefined {
  const use = listRunsStatus(runDir)?.teacherStore;
  if (!use) return undefined;
  try {
    return (JSON.parse(readFileSync(join(use.path, 'manifest.json'), 'utf8')) as { trainedWith: { seconds: number } }).trainedWith.seconds;
  } catch {
    return undefined;
  }
}

function listRunsStatus(runDir: string): RunStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')) as RunStatus;
  } catch {
    return undefined;
  }
}

export async function benchKdCommand(o: { seeds: string; preset: string; out: string; work: string; ablations: string; reuse?: string; backend?: string; engine?: SweepEngine }): Promise<number> {
  const nSeeds = Number(o.seeds);
  const seeds = Array.from({ length: nSeeds }, (_, i) => i);
  const ablations = o.ablations.split(',').map((v) => v.trim()).filter((v) => v && v !== 'dpt-sft-dft');
  // --reuse: an earlier bench folder; the sweep of the same definition resumes (finished points are kept).
  const work = o.reuse ? resolve(o.reuse) : resolve(o.work, `${o.preset}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(work, { recursive: true });
  const file = join(work, EXPERIMENT_FILE);
  const experiment = { preset: o.preset, name: `bench-kd ${o.preset}`, data: { worldDir: 'world' }, sweep: benchSweep(o.preset, nSeeds, ablations) };
  if (!existsSync(file) || !o.reuse) writeFileSync(file, JSON.stringify(experiment, null, 2) + '\n');
  // The world once, before the points start (every point reads it).
  const cfg = presetConfig(o.preset);
  generateWorld(cfg.data.world, join(work, 'world'), { extraTexts: [cfg.data.systemPrompt] });
  const majority = majorityBaseline(JSON.parse(readFileSync(join(work, 'world', 'test.json'), 'utf8')));
  const started = Date.now();
  const code = await sweepCommand({ experiment: file, engine: o.engine ?? 'local', pollMs: 2000, pointArgs: o.backend ? ['--backend', o.backend] : undefined });
  const found = listSweeps(work).find((r) => r.ok);
  if (!found || !found.ok) throw new Error(`${work}: the bench sweep left no sweep folder`);
  const m: SweepManifest = found.manifest;
  const done = m.points.filter((p) => p.state === 'completed');
  const results: BenchResult[] = [];
  for (const p of done) {
    const runDir = join(work, 'runs', p.runId);
    const seconds = runSeconds(runDir) ?? 0;
    const rows = lastPerKey(readJsonl<EvalLine>(join(runDir, 'eval.jsonl')).rows, evalKey);
    for (const e of rows.filter((r) => r.split === 'test')) {
      const model = e.model === 'kd' ? (p.variant.endsWith('-long') ? `control ${p.variant} (CE only)` : `LLaVA-KD ${p.variant === 'main' ? 'dpt-sft-dft' : p.variant.replace('_', ' with preset ')}`) : e.model === 'baseline' ? 'baseline pt-sft' : e.model;
      // A reused teacher was not trained by this run: its time is the stored teacher's training time.
      const stored = e.model === 'teacher' && e.teacherStore ? storedTeacherSeconds(runDir) : undefined;
      results.push({ model, seed: p.seed, test: e, seconds: stored ?? seconds });
    }
  }
  const runDirs = done.map((p) => join(work, 'runs', p.runId));
  const runMinutes = runDirs.reduce((t, d) => t + (runSeconds(d) ?? 0), 0) / 60;
  const { md, json } = benchTables(results, {
    preset: o.preset,
    seeds,
    notes: [
      `Generated by \`npm run bench:kd\` on ${new Date().toISOString()}: sweep ${m.id} (${m.engine} engine, ${m.parallel || 'unlimited'} at a time), ${done.length} of ${m.points.length} points completed; this invocation ran ${((Date.now() - started) / 60000).toFixed(1)} min; all runs together took ${runMinutes.toFixed(0)} run-minutes${wallSpan(runDirs)}.`,
      teacherNote(done.filter((p) => p.variant === 'main').map((p) => join(work, 'runs', p.runId))),
      'Paper (Qwen1.5-0.5B student, avg of 10 benchmarks): PT-SFT 54.7, DPT-SFT 55.6, PT-DFT 55.8, DPT-DFT 55.9, PT-SFT-DFT 56.6, DPT-SFT-DFT 57.9, teacher 65.0. The control is ours: CE-only SFT for as many steps as SFT + DFT, no teacher.',
      '"run s" = wall seconds of the run that trained the model (the main run trains the baseline and the DPT-SFT-DFT student, and the vision encoder and the teacher unless they come from the teacher store); for a stored teacher, the seconds its training took (its manifest).',
    ],
    references: [{ name: 'majority answer per type', ...majority }, { name: 'chance (uniform over the answers of the type)', overall: majority.chance, byType: majority.chanceByType }],
  });
  mkdirSync(resolve(o.out), { recursive: true });
  writeFileSync(join(resolve(o.out), 'kd-table.md'), md);
  writeFileSync(join(resolve(o.out), 'kd-table.json'), JSON.stringify({ ...(json as object), generatedAt: new Date().toISOString() }, null, 2) + '\n');
  process.stdout.write(md);
  return code;
}
