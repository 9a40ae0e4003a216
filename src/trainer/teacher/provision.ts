/**
 * A run's teacher side (vision pre-training + the teacher track) through the teacher store: when
 * the store holds the run's key (its own cache, or the teacher shipped with the package), the
 * stored checkpoints are copied into the run folder and the stages are marked done, with the
 * teacher's recorded eval lines; otherwise the run takes the key's lock, trains the teacher side
 * itself and stores it for every later run. A run that finds the lock held by another live run
 * waits for it and then reuses what it stored. config.json and status.json record the key, the
 * entry's folder and where it came from. Node only.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadCheckpoint, saveCanonicalCheckpoint } from '../io/checkpoint';
import { join } from 'node:path';
import type { EvalLine, RunState, TeacherStoreUse } from '../../common/runFormat';
import { readJsonl, readStatus } from '../../common/runReader';
import type { ExperimentConfig } from '../config/types';
import { fullPlan, isTeacherSide, visionCheckpoint, type StagePlan } from '../../common/stagePlan';
import type { RunContext } from '../train/runContext';
import { teacherKey, teacherRecipe } from './recipe';
import { manifestTestAccuracy, TeacherStore, type TeacherEntry } from './store';
import { dataFingerprint } from '../data/fingerprint';
import * as tf from '@tensorflow/tfjs';

/** Checkpoints of the teacher side that later stages read: the vision encoder (if pre-trained) and the teacher's final one. */
export function teacherSideOutputs(cfg: ExperimentConfig): string[] {
  const t = cfg.pipeline.teacher;
  return [visionCheckpoint(cfg), t.length ? `teacher-${t[t.length - 1]}` : null].filter((x): x is string => !!x);
}

/**
 * Whether this run's teacher side goes through the store: `teacher.cache` is `reuse` and the run
 * trains the whole teacher side itself (a run that takes its teacher from `--from` does not).
 */
export function usesTeacherStore(cfg: ExperimentConfig, stages: StagePlan[]): boolean {
  const side = fullPlan(cfg).filter(isTeacherSide);
  return cfg.teacher.cache === 'reuse' && side.length > 0 && cfg.pipeline.teacher.length > 0
    && side.every((s) => stages.some((x) => x.id === s.id));
}

/** Key of the run's teacher side. */
export function runTeacherKey(ctx: Pick<RunContext, 'cfg' | 'experimentFile'>): string {
  return teacherKey(ctx.cfg, dataFingerprint(ctx.cfg, ctx.experimentFile));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the teacher side of `ctx` through the store (see the file header), then returns; the
 * caller runs the remaining stages. Returns 'stopped' when a stop was requested meanwhile.
 */
export async function provisionTeacherSide(ctx: RunContext, run: (only: (s: StagePlan) => boolean) => Promise<RunState>, store = new TeacherStore()): Promise<RunState> {
  const side = ctx.stages.filter(isTeacherSide);
  const key = runTeacherKey(ctx);
  let waitingSince = 0;
  for (;;) {
    const hit = store.lookup(key, ctx.log);
    if (hit) {
      // A run that trained part of the teacher side before another run stored it: the stored one wins.
      installEntry(ctx, side, hit);
      return 'completed';
    }
    if (store.tryLock(key)) {
      try {
        const again = store.lookup(key, ctx.log);
        if (again) { installEntry(ctx, side, again); return 'completed'; }
        ctx.log(`teacher store: no teacher ${key} yet; this run trains it (${side.map((s) => s.id).join(', ')}) and stores it in ${store.root}`);
        const t0 = Date.now();
        const state = await run(isTeacherSide);
        if (state !== 'completed') return state;
        const entry = publishFromRun(ctx, key, store, { seconds: (Date.now() - t0) / 1000, backend: tf.getBackend(), runId: ctx.writer.status?.runId });
        recordUse(ctx, { key, path: entry.dir, source: 'trained', teacherAccuracy: manifestTestAccuracy(entry.manifest) });
        ctx.log(`teacher store: stored teacher ${key} in ${entry.dir}`);
        return 'completed';
      } finally {
        store.unlock(key);
      }
    }
    if (!waitingSince || Date.now() - waitingSince > 60_000) {
      ctx.log(`teacher store: another run (pid ${store.lockedBy(key) ?? '?'}) is training teacher ${key}; waiting for it to finish, then reusing it`);
      ctx.writer.updateStatus({ stage: null });
      waitingSince = Date.now();
    }
    if (ctx.stop.requested) return 'stopped';
    await sleep(1000);
  }
}

/**
 * The config recorded inside a stored checkpoint: the run's, with what differs between runs that
 * share the teacher (name, student seed, threads, backend, cache switch, file paths) made
 * canonical, so the stored bytes depend on the weights and the recipe only.
 */
function canonicalConfig(cfg: ExperimentConfig, key: string): ExperimentConfig {
  return { ...cfg, name: `teacher ${key.slice(0, 8)}`, seed: 0, workers: 0, backend: 'auto', teacher: { ...cfg.teacher, cache: 'reuse' } };
}

/**
 * Stores the teacher side this run trained: each checkpoint rewritten canonically (no paths, no
 * time; see canonicalConfig), then copied back into the run, so every run of this teacher holds
 * byte-identical teacher checkpoints (and shares one teacher-output cache).
 */
export function publishFromRun(ctx: Pick<RunContext, 'cfg' | 'experimentFile' | 'writer' | 'stages'>, key: string, store: TeacherStore, how: TrainedHow): TeacherEntry {
  const sideIds = new Set(ctx.stages.filter(isTeacherSide).map((s) => s.id));
  const evals = readJsonl<EvalLine>(ctx.writer.file('eval.jsonl')).rows.filter((e) => sideIds.has(e.stage) && !e.teacherStore);
  mkdirSync(store.root, { recursive: true });
  const tmp = mkdtempSync(join(store.root, `.${key}.canonical-`));
  try {
    const files: Record<string, string> = {};
    for (const n of teacherSideOutputs(ctx.cfg)) {
      const ck = loadCheckpoint(ctx.writer.checkpointPath(n));
      files[n] = join(tmp, `${n}.safetensors`);
      saveCanonicalCheckpoint(files[n], ck.tensors, { kind: 'final', stage: ck.meta.stage, step: ck.meta.step, track: ck.meta.track, config: canonicalConfig(ctx.cfg, key), teacherStore: key });
    }
    const entry = store.publish({
      key,
      name: ctx.cfg.name,
      createdAt: new Date().toISOString(),
      recipe: teacherRecipe(ctx.cfg),
      dataFingerprint: dataFingerprint(ctx.cfg, ctx.experimentFile),
      evals,
      trainedWith: { backend: how.backend, workers: teacherWorkers(ctx), seconds: Math.round(how.seconds), node: process.version, runId: how.runId, stages: [...sideIds] },
    }, files);
    for (const c of entry.manifest.checkpoints) copyFileSync(join(entry.dir, `${c.name}.safetensors`), ctx.writer.checkpointPath(c.name));
    return entry;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Most threads a teacher-side stage of the run trained on (status.json; runs before it was recorded: the configured count). */
function teacherWorkers(ctx: Pick<RunContext, 'cfg' | 'writer' | 'stages'>): number {
  const onDisk = ctx.writer.status ? undefined : readStatus(ctx.writer.dir);
  const threads = ctx.writer.status?.threads ?? (onDisk?.ok ? onDisk.status.threads : undefined);
  const side = ctx.stages.filter(isTeacherSide).map((s) => threads?.[s.id]).filter((n): n is number => n !== undefined);
  return side.length ? Math.max(...side) : Math.max(1, ctx.cfg.workers);
}

/** How a stored teacher was trained (recorded in its manifest). */
export interface TrainedHow { seconds: number; backend: string; runId?: string }

/** Copies a stored teacher side into the run: checkpoints, eval lines (marked), completed stages, records. */
function installEntry(ctx: RunContext, side: StagePlan[], e: TeacherEntry): void {
  for (const c of e.manifest.checkpoints) copyFileSync(join(e.dir, `${c.name}.safetensors`), ctx.writer.checkpointPath(c.name));
  const had = new Set(readJsonl<EvalLine>(ctx.writer.file('eval.jsonl')).rows.filter((l) => l.teacherStore === e.key).map((l) => `${l.stage}|${l.split}|${l.step}`));
  for (const line of e.manifest.evals) {
    if (had.has(`${line.stage}|${line.split}|${line.step}`)) continue; // a resumed run installed it already
    const l = { ...line, teacherStore: e.key };
    ctx.writer.appendEval(l);
    ctx.emit({ event: 'eval', ...l });
  }
  for (const s of side) if (!ctx.completed.includes(s.id)) ctx.completed.push(s.id);
  const acc = manifestTestAccuracy(e.manifest);
  ctx.writer.updateStatus({ completedStages: [...ctx.completed], ...(acc !== undefined ? { accuracy: { ...ctx.writer.status?.accuracy, teacher: acc } } : {}) });
  recordUse(ctx, { key: e.key, path: e.dir, source: e.source, teacherAccuracy: acc });
  ctx.log(`teacher store: reusing teacher ${e.key} (${e.source === 'package' ? 'shipped with the extension' : 'cached'}, trained ${e.manifest.createdAt}${acc !== undefined ? `, test accuracy ${(acc * 100).toFixed(1)}%` : ''}) from ${e.dir}; skipping ${side.map((s) => s.id).join(', ')}`);
}

function recordUse(ctx: Pick<RunContext, 'writer'>, use: TeacherStoreUse): void {
  ctx.writer.updateStatus({ teacherStore: use });
  const cfgFile = ctx.writer.file('config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  ctx.writer.writeConfig({ ...cfg, teacherStore: use });
}
