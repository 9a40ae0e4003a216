/**
 * `demo`: the newcomer's first command. Scaffolds an experiment on the built-in world (if the
 * folder has none), runs the whole pipeline and the equal-compute CE-only control (the same
 * student, PT then SFT for as many steps as SFT + DFT, no teacher) from the same checkpoints
 * (on two cores side by side: the control starts once the main run has written them), and
 * prints teacher, baseline, control and LLaVA-KD on test beside the majority-answer baseline,
 * with a verdict that reports KD − baseline and KD − control together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fullPlan, selectStages, visionCheckpoint } from '../../common/stagePlan';
import { EXPERIMENT_FILE, type EvalLine } from '../../common/runFormat';
import { evalKey, lastPerKey, listRuns, readJsonl } from '../../common/runReader';
import type { BackendName } from '../config/types';
import { loadExperimentFile } from '../config/loadFile';
import { normalizeAnswer } from '../data/answers';
import { resolveDataPath } from '../train/data';
import { runCommand } from './runCommand';

/**
 * Accuracy of always giving each type's most frequent test answer (`byType`, `overall`), and of a
 * uniform guess among the distinct answers of the type (`chanceByType`, `chance`).
 */
export function majorityBaseline(records: { type?: string; conversations: { from: string; value: string }[] }[]): { overall: number; byType: Record<string, number>; chance: number; chanceByType: Record<string, number> } {
  const counts = new Map<string, Map<string, number>>();
  for (const r of records) {
    const a = normalizeAnswer(r.conversations.find((c) => c.from === 'gpt')?.value ?? '');
    const t = r.type ?? 'other';
    const m = counts.get(t) ?? new Map<string, number>();
    m.set(a, (m.get(a) ?? 0) + 1);
    counts.set(t, m);
  }
  const byType: Record<string, number> = {};
  const chanceByType: Record<string, number> = {};
  let hits = 0;
  let chanceHits = 0;
  for (const [t, m] of counts) {
    const top = Math.max(...m.values());
    const n = [...m.values()].reduce((x, y) => x + y, 0);
    byType[t] = top / n;
    chanceByType[t] = 1 / m.size;
    hits += top;
    chanceHits += n / m.size;
  }
  const total = records.length || 1;
  return { overall: hits / total, byType, chance: chanceHits / total, chanceByType };
}

/** Markdown table of test accuracy per model and question type, with an optional reference row. */
export function comparisonTable(evals: EvalLine[], reference?: { name: string; overall: number; byType: Record<string, number> }): string {
  const test = evals.filter((e) => e.split === 'test');
  const types = [...new Set(test.flatMap((e) => Object.keys(e.byType)))].sort();
  const pct = (v: number | undefined) => (v !== undefined ? (v * 100).toFixed(1) : '-');
  const rows = test.map((e) => `| ${e.model} | ${pct(e.accuracy)} | ${types.map((t) => pct(e.byType[t])).join(' | ')} |`);
  if (reference) rows.push(`| ${reference.name} | ${pct(reference.overall)} | ${types.map((t) => pct(reference.byType[t])).join(' | ')} |`);
  return [`| model | test acc % | ${types.join(' | ')} |`, `|---|---|${types.map(() => '---').join('|')}|`, ...rows].join('\n');
}

/** The verdict: KD against the baseline and against the control together, with the seed caveat. */
export function verdict(acc: Record<string, number>): string {
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
  const lines: string[] = [];
  if (acc.kd !== undefined && acc.baseline !== undefined) {
    const parts = [`LLaVA-KD − baseline: ${pts(acc.kd - acc.baseline)} points`];
    if (acc.control !== undefined) parts.push(`LLaVA-KD − control (CE only, same student steps): ${pts(acc.kd - acc.control)} points`);
    if (acc.teacher !== undefined) parts.push(`teacher − baseline: ${pts(acc.teacher - acc.baseline)} points`);
    lines.push(parts.join('; ') + '.');
    if (acc.control !== undefined && acc.kd - acc.control <= 0) {
      lines.push('Here the distilled student is not better than the control with the same number of steps: the gain over the baseline (if any) comes from the extra steps, not from the teacher.');
    }
  }
  lines.push('One seed is one seed: differences of a few points are within the seed spread. For means, 95 % intervals and the paired differences over seeds run: npm run bench:kd');
  return lines.join('\n');
}

/**
 * The control's experiment (the experiment's own diff, its kd track replaced by PT → SFT with SFT
 * as long as SFT + DFT, started from the main run's checkpoints, on the same world), written to
 * `<dir>/control/kd-experiment.json`.
 */
function writeControl(d: string, file: string): { file: string; sftSteps: number; needs: string[] } {
  const cfg = loadExperimentFile(file);
  const controlDir = join(d, 'control');
  mkdirSync(controlDir, { recursive: true });
  const own = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const ownData = (own.data ?? {}) as Record<string, unknown>;
  const control = {
    ...own,
    name: `${cfg.name} — control (CE only)`,
    data: { ...ownData, worldDir: relative(controlDir, resolveDataPath(file, cfg.data.worldDir)) },
    pipeline: { ...((own.pipeline ?? {}) as object), kd: ['pt', 'sft'] },
    stages: { ...((own.stages ?? {}) as object), sft: { ...(((own.stages ?? {}) as Record<string, object>).sft ?? {}), steps: cfg.stages.sft.steps + cfg.stages.dft.steps } },
  };
  const controlFile = join(controlDir, EXPERIMENT_FILE);
  writeFileSync(controlFile, JSON.stringify(control, null, 2) + '\n');
  // The checkpoints of the main run its kd stages start from (not those they write themselves).
  const ccfg = loadExperimentFile(controlFile);
  const stages = selectStages(fullPlan(ccfg), 'kd');
  const own2 = new Set(stages.map((st) => st.output));
  const needs = [...new Set([...stages.flatMap((st) => [st.init, st.teacher]), visionCheckpoint(ccfg)])].filter((n): n is string => !!n && !own2.has(n));
  return { file: controlFile, sftSteps: control.stages.sft.steps, needs };
}

/** `node <this cli> ...args` as a child process; resolves with its exit code. */
function cliChild(args: string[], stdio: 'inherit' | number): { child: ChildProcess; done: Promise<number> } {
  const child = spawn(process.execPath, [process.argv[1], ...args], { stdio: stdio === 'inherit' ? 'inherit' : ['ignore', stdio, stdio] });
  const done = new Promise<number>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 130 : 1))));
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function demoCommand(dir: string, preset: string, backend?: BackendName): Promise<number> {
  const d = resolve(dir);
  const file = join(d, EXPERIMENT_FILE);
  if (!existsSync(file)) {
    mkdirSync(d, { recursive: true });
    writeFileSync(file, JSON.stringify({ preset, name: `demo (${preset})` }, null, 2) + '\n', { flag: 'wx' });
    process.stderr.write(`wrote ${file}\n`);
  } else {
    process.stderr.write(`using existing ${file} (a new run folder is created; earlier runs are kept)\n`);
  }
  const backendArgs = backend ? ['--backend', backend] : [];
  let run: ReturnType<typeof listRuns>[number] | undefined;
  let controlCode: number;
  let control: ReturnType<typeof writeControl>;
  if (availableParallelism() < 2) {
    // One core: the main run, then the control.
    const code = await runCommand({ experiment: file, backend, json: false });
    run = listRuns(d)[0];
    if (code !== 0 || !run) return code;
    control = writeControl(d, file);
    process.stderr.write(`\ncontrol: ${control.file} (kd track PT → SFT ${control.sftSteps} steps, no teacher), from run ${run.runId}\n`);
    controlCode = await runCommand({ experiment: control.file, stages: 'kd', from: [run.dir], backend, json: false });
  } else {
    // Two cores: the control starts as soon as the main run has written the checkpoints it starts
    // from (its student stages train on one thread each), so both runs train side by side.
    const earlier = new Set(listRuns(d).map((r) => r.dir));
    const main = cliChild(['run', file, ...backendArgs], 'inherit');
    let mainCode: number | undefined;
    void main.done.then((c) => { mainCode = c; });
    // A signal to this process goes to both runs (each stops at its next step with a checkpoint;
    // a second signal changes nothing), and this process waits for them.
    const children: ChildProcess[] = [main.child];
    const forward = (sig: NodeJS.Signals) => { for (const ch of children) if (ch.exitCode === null) ch.kill(sig); };
    const onInt = () => forward('SIGINT');
    const onTerm = () => forward('SIGTERM');
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
    try {
      control = writeControl(d, file);
      let runDir: string | undefined;
      while (mainCode === undefined) {
        runDir ??= listRuns(d).find((r) => !earlier.has(r.dir))?.dir;
        if (runDir && control.needs.every((n) => existsSync(join(runDir!, 'checkpoints', `${n}.safetensors`)))) break;
        await sleep(500);
      }
      if (mainCode !== undefined && mainCode !== 0) return mainCode;
      runDir ??= listRuns(d).find((r) => !earlier.has(r.dir))?.dir;
      if (!runDir) return (await main.done) || 1;
      const log = join(d, 'control', 'control.log');
      const fd = openSync(log, 'w');
      process.stderr.write(`\n[demo] control run started beside the main run: ${control.file} (kd track PT → SFT ${control.sftSteps} steps, no teacher), from run ${basename(runDir)}; its output: ${log}\n\n`);
      const c = cliChild(['run', control.file, '--stages', 'kd', '--from', runDir, ...backendArgs], fd);
      children.push(c.child);
      const [mc, cc] = await Promise.all([main.done, c.done]);
      closeSync(fd);
      const controlRunDir = listRuns(join(d, 'control'))[0]?.dir;
      process.stderr.write(`[demo] control run ${cc === 0 ? 'completed' : cc === 130 ? `stopped (resumable: llava-kd resume ${controlRunDir ?? join(d, 'control')})` : `failed (exit ${cc}): see ${log}`}\n`);
      if (mc !== 0) return mc;
      run = listRuns(d).find((r) => r.dir === runDir);
      if (!run) return 1;
      controlCode = cc;
    } finally {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
    }
  }
  const cfg = loadExperimentFile(file);
  const controlRun = controlCode === 0 ? listRuns(join(d, 'control'))[0] : undefined;

  const rows = lastPerKey(readJsonl<EvalLine>(join(run.dir, 'eval.jsonl')).rows, evalKey);
  const used = run.status?.teacherStore;
  if (used) {
    const how = used.source === 'trained' ? 'trained by this run and stored for the next ones' : used.source === 'package' ? 'the default teacher shipped with the package, reused (not trained here)' : 'reused from the teacher store (not trained here)';
    process.stdout.write(`\nTeacher: ${how}; key ${used.key}, ${used.path}. Manage stored teachers with: llava-kd teacher list|train|rm\n`);
  }
  const controlRows = controlRun ? readJsonl<EvalLine>(join(controlRun.dir, 'eval.jsonl')).rows.filter((r) => r.split === 'test').map((r) => ({ ...r, model: 'control' })) : [];
  const all = [...rows, ...controlRows];
  const testFile = cfg.data.source === 'world' ? join(resolveDataPath(file, cfg.data.worldDir), 'test.json') : resolveDataPath(file, cfg.data.test);
  const majority = majorityBaseline(JSON.parse(readFileSync(testFile, 'utf8')));
  process.stdout.write(`\nTest accuracy (run ${run.runId}${controlRun ? `, control run ${controlRun.runId}` : ''}):\n${comparisonTable(all, { name: 'majority answer per type', overall: majority.overall, byType: majority.byType })}\n`);
  const acc = Object.fromEntries(all.filter((r) => r.split === 'test').map((r) => [r.model, r.accuracy]));
  process.stdout.write(`\n${verdict(acc)}\n`);
  return controlCode;
}
