/**
 * `bench-kd` (npm run bench:kd): the paper's comparison at our scale. For each seed: one full
 * run (vision, teacher, PT-SFT baseline, DPT-SFT-DFT student), then each stage-ablation variant
 * of the student track starting from that run's checkpoints. Two trainer processes at a time
 * (2 cores). Writes bench/results/kd-table.{md,json}: mean, std and 95 % intervals over seeds,
 * the seed-paired differences and the goals check (benchTables.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { presetConfig } from '../config';
import { generateWorld } from '../data';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE, type EvalLine, type RunStatus } from '../../common/runFormat';
import { evalKey, lastPerKey, listRuns, readJsonl } from '../../common/runReader';
import { benchTables, type BenchResult } from './benchTables';
import { majorityBaseline } from '../cli/demo';

interface Job { name: string; seed: number; variant: string; dir: string; args: string[]; after?: Job; runDir?: string; seconds?: number; ok?: boolean }

function runJob(job: Job, backend?: string): Promise<void> {
  return new Promise((res, rej) => {
    const args = [process.argv[1], 'run', join(job.dir, EXPERIMENT_FILE), ...job.args];
    if (job.after?.runDir) args.push('--from', job.after.runDir);
    if (backend) args.push('--backend', backend);
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    child.on('exit', (code) => {
      job.seconds = (Date.now() - t0) / 1000;
      job.runDir = listRuns(job.dir)[0]?.dir;
      process.stderr.write(`[bench] ${job.name} finished in ${job.seconds.toFixed(0)} s (exit ${code})\n`);
      if (code === 0) res(); else rej(new Error(`${job.name} failed (exit ${code}): ${err}`));
    });
  });
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
function wallSpan(jobs: Job[]): string {
  const st = jobs.map((j) => (j.runDir ? listRunsStatus(j.runDir) : undefined)).filter((s): s is RunStatus => !!s?.endedAt);
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

/** A finished earlier run of a job folder (bench --reuse), or undefined. */
function finishedRun(dir: string): { runDir: string; seconds: number } | undefined {
  const run = existsSync(join(dir, 'runs')) ? listRuns(dir).find((r) => r.status?.state === 'completed') : undefined;
  if (!run?.status) return undefined;
  return { runDir: run.dir, seconds: (Date.parse(run.status.endedAt ?? run.status.updatedAt) - Date.parse(run.status.startedAt)) / 1000 };
}

export async function benchKdCommand(o: { seeds: string; preset: string; out: string; work: string; ablations: string; reuse?: string; backend?: string }): Promise<number> {
  const seeds = Array.from({ length: Number(o.seeds) }, (_, i) => i);
  const variants = o.ablations.split(',').map((v) => v.trim()).filter((v) => v && v !== 'dpt-sft-dft');
  // --reuse: an earlier bench folder; its finished runs are kept and only missing jobs run.
  const work = o.reuse ? resolve(o.reuse) : resolve(o.work, `${o.preset}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const jobs: Job[] = [];
  for (const seed of seeds) {
    const mk = (variant: string, diff: object, args: string[], after?: Job): Job => {
      const dir = join(work, `seed${seed}`, variant);
      mkdirSync(dir, { recursive: true });
      // Every job of a seed shares one world folder (generated once, identical).
      const file = join(dir, EXPERIMENT_FILE);
      if (!existsSync(file)) writeFileSync(file, JSON.stringify({ preset: o.preset, name: `${variant} seed ${seed}`, seed, data: { worldDir: '../../world' }, ...diff }, null, 2));
      const j: Job = { name: `seed ${seed} ${variant}`, seed, variant, dir, args, after };
      const done = finishedRun(dir);
      if (done) Object.assign(j, done, { ok: true });
      jobs.push(j);
      return j;
    };
    const main = mk('main', {}, []);
    for (const v of variants) {
      // `pt-sft-long`: control with CE-only SFT as long as SFT + DFT together (same steps as
      // PT-SFT-DFT, no teacher), to separate the effect of distillation from that of more steps.
      // `<kinds>:<preset>`: the kd track under another preset's loss weights (e.g. terms-res).
      const [track, preset] = v.split(':');
      const long = track.endsWith('-long');
      const kinds = (long ? track.slice(0, -5) : track).split('-');
      const base = presetConfig(o.preset).stages;
      const diff = {
        ...(preset ? { preset } : {}),
        pipeline: { kd: kinds },
        ...(long ? { stages: { sft: { steps: base.sft.steps + base.dft.steps } } } : {}),
      };
      mk(v.replace(':', '_'), diff, ['--stages', 'kd'], main);
    }
  }
  // Generate the shared world once before parallel jobs start.
  const cfg = presetConfig(o.preset);
  generateWorld(cfg.data.world, join(work, 'world'), { extraTexts: [cfg.data.systemPrompt] });
  const testFile = join(work, 'world', 'test.json');
  const majority = majorityBaseline(JSON.parse(readFileSync(testFile, 'utf8')));
  const writeTables = (): void => {
    const results: BenchResult[] = [];
    for (const j of jobs.filter((x) => x.runDir && x.seconds !== undefined && x.ok)) {
      const rows = lastPerKey(readJsonl<EvalLine>(join(j.runDir!, 'eval.jsonl')).rows, evalKey);
      for (const e of rows.filter((r) => r.split === 'test')) {
        const model = e.model === 'kd' ? (j.variant.endsWith('-long') ? `control ${j.variant} (CE only)` : `LLaVA-KD ${j.variant === 'main' ? 'dpt-sft-dft' : j.variant.replace('_', ' with preset ')}`) : e.model === 'baseline' ? 'baseline pt-sft' : e.model;
        // A reused teacher was not trained by this run: its time is the stored teacher's training time.
        const stored = e.model === 'teacher' && e.teacherStore ? storedTeacherSeconds(j.runDir!) : undefined;
        results.push({ model, seed: j.seed, test: e, seconds: stored ?? j.seconds ?? 0 });
      }
    }
    const { md, json } = benchTables(results, {
      preset: o.preset,
      seeds,
      notes: [
        `Generated by \`npm run bench:kd\` on ${new Date().toISOString()}; this invocation ran ${((Date.now() - started) / 60000).toFixed(1)} min${reused ? ` and reused ${reused} finished runs` : ''}; all runs together took ${(jobs.reduce((t, j) => t + (j.seconds ?? 0), 0) / 60).toFixed(0)} run-minutes (2 at a time on 2 cores)${wallSpan(jobs)}.`,
        teacherNote(jobs.filter((j) => j.variant === 'main' && j.runDir).map((j) => j.runDir!)),
        'Paper (Qwen1.5-0.5B student, avg of 10 benchmarks): PT-SFT 54.7, DPT-SFT 55.6, PT-DFT 55.8, DPT-DFT 55.9, PT-SFT-DFT 56.6, DPT-SFT-DFT 57.9, teacher 65.0. The control is ours: CE-only SFT for as many steps as SFT + DFT, no teacher.',
        '"run s" = wall seconds of the run that trained the model (the main run trains the baseline and the DPT-SFT-DFT student, and the vision encoder and the teacher unless they come from the teacher store); for a stored teacher, the seconds its training took (its manifest).',
      ],
      references: [{ name: 'majority answer per type', ...majority }, { name: 'chance (uniform over the answers of the type)', overall: majority.chance, byType: majority.chanceByType }],
    });
    mkdirSync(resolve(o.out), { recursive: true });
    writeFileSync(join(resolve(o.out), 'kd-table.md'), md);
    writeFileSync(join(resolve(o.out), 'kd-table.json'), JSON.stringify({ ...(json as object), generatedAt: new Date().toISOString() }, null, 2) + '\n');
    process.stdout.write(md);
  };
  const reused = jobs.filter((j) => j.ok).length;
  const pending = jobs.filter((j) => !j.ok);
  const running = new Set<Promise<void>>();
  const started = Date.now();
  while (pending.length || running.size) {
    const ready = pending.findIndex((j) => !j.after || j.after.ok);
    // A job whose main run failed can never start: drop it.
    for (let i = pending.length - 1; i >= 0; i--) if (pending[i].after && pending[i].after!.seconds !== undefined && !pending[i].after!.ok) pending.splice(i, 1);
    if (ready >= 0 && running.size < 2) {
      const job = pending.splice(ready, 1)[0];
      const p = runJob(job, o.backend).then(() => { job.ok = true; writeTables(); }, (e) => { process.stderr.write(`[bench] ${(e as Error).message}\n`); }).finally(() => running.delete(p));
      running.add(p);
      continue;
    }
    await Promise.race(running);
  }
  writeTables();
  return 0;
}
