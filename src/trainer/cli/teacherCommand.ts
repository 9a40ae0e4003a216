/**
 * `llava-kd teacher list|train|add|rm`: manages the teacher store (src/trainer/teacher/store.ts).
 * `train` runs the teacher side (vision pre-training + the teacher track) of an experiment or a
 * preset and stores it; `add` stores the teacher side of a finished run; `rm` removes entries.
 * The packaged default teacher is rebuilt bit for bit by `npm run teacher:build`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE, type RunStatus } from '../../common/runFormat';
import { isPresetName, PRESET_NAMES } from '../config';
import { loadExperimentFile } from '../config/loadFile';
import type { BackendName } from '../config/types';
import { fullPlan, isTeacherSide } from '../../common/stagePlan';
import { defaultCacheDir } from '../train/teacherCache';
import { RunWriter } from '../io/runDir';
import { publishFromRun, runTeacherKey } from '../teacher/provision';
import { manifestTestAccuracy, TeacherStore, type ListedEntry } from '../teacher/store';
import { InputError, loadRunConfig, runCommand, readRunStatus } from './runCommand';

const storeOf = (dir?: string) => (dir ? new TeacherStore(resolve(dir)) : new TeacherStore());

function describe(e: ListedEntry): string {
  const m = e.manifest;
  const acc = m ? manifestTestAccuracy(m) : undefined;
  const what = e.state === 'ok' && m
    ? `${m.name}, teacher ${String((m.recipe.teacher as { lm: { dim: number; layers: number } }).lm.dim)}×${String((m.recipe.teacher as { lm: { layers: number } }).lm.layers)}${acc !== undefined ? `, test ${(acc * 100).toFixed(1)}%` : ''}, trained ${m.createdAt.slice(0, 16).replace('T', ' ')} in ${Math.round(m.trainedWith.seconds / 60)} min`
    : e.state === 'training' ? `being trained by process ${e.pid}`
      : e.state === 'partial' ? `partial (being written by process ${e.pid})`
        : `CORRUPT: ${e.problem} (removed and retrained on next use)`;
  return `${e.key}  ${e.source.padEnd(7)}  ${(e.bytes / 1e6).toFixed(1).padStart(6)} MB  ${what}\n    ${e.dir}`;
}

export function teacherListCommand(o: { store?: string; json?: boolean }): number {
  const store = storeOf(o.store);
  const entries = store.list();
  if (o.json) {
    process.stdout.write(JSON.stringify({ root: store.root, packaged: store.packaged, entries: entries.map((e) => ({ ...e, teacherAccuracy: e.manifest ? manifestTestAccuracy(e.manifest) : undefined })) }) + '\n');
    return 0;
  }
  process.stdout.write(`teacher store: ${store.root}${store.packaged.length ? ` (+ packaged: ${store.packaged.join(', ')})` : ''}\n`);
  if (!entries.length) process.stdout.write('  (empty: runs with teacher.cache "reuse" store their teacher here)\n');
  for (const e of entries) process.stdout.write(describe(e) + '\n');
  return 0;
}

export async function teacherTrainCommand(experiment: string | undefined, o: { preset?: string; store?: string; workers?: string; backend?: BackendName; force?: boolean; json?: boolean }): Promise<number> {
  let file: string;
  if (experiment) {
    file = resolve(experiment);
    if (!existsSync(file)) throw new InputError(`${file}: no such experiment file`);
  } else {
    const preset = o.preset ?? 'default';
    if (!isPresetName(preset)) throw new InputError(`--preset: unknown preset '${preset}'; presets: ${PRESET_NAMES.join(', ')}`);
    const dir = join(defaultCacheDir(), 'teacher-work', preset);
    mkdirSync(dir, { recursive: true });
    file = join(dir, EXPERIMENT_FILE);
    if (!existsSync(file)) writeFileSync(file, JSON.stringify({ preset, name: preset }, null, 2) + '\n');
  }
  let cfg;
  try {
    cfg = loadExperimentFile(file);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  if (cfg.pipeline.teacher.length === 0) throw new InputError(`${file}: pipeline.teacher is empty; there is no teacher to train`);
  const workers = o.workers !== undefined ? Number(o.workers) : undefined;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 16)) throw new InputError(`--workers: expected an integer 0..16, got '${o.workers}'`);
  const store = storeOf(o.store);
  const key = runTeacherKey({ cfg: { ...cfg, teacher: { ...cfg.teacher, cache: 'reuse' } }, experimentFile: file });
  if (o.force) {
    if (store.remove(key)) process.stderr.write(`removed the stored teacher ${key}\n`);
  } else {
    const hit = store.lookup(key, (m) => process.stderr.write(m + '\n'));
    if (hit) {
      process.stdout.write(`teacher ${key} is already stored (${hit.source}): ${hit.dir}\n`);
      return 0;
    }
  }
  const stages = fullPlan(cfg).filter(isTeacherSide).map((s) => s.id).join(',');
  process.stderr.write(`training teacher ${key} (${stages}) from ${file} into ${store.root}\n`);
  // teacher.cache is forced to reuse so the run stores what it trains.
  return runCommand({ experiment: file, stages, backend: o.backend, workers, json: !!o.json, store, teacherCache: 'reuse' });
}

export function teacherAddCommand(runDir: string, o: { store?: string }): number {
  const dir = resolve(runDir);
  let status: RunStatus;
  let cfg;
  try {
    status = readRunStatus(join(dir, 'status.json'));
    cfg = loadRunConfig(join(dir, 'config.json'));
  } catch (e) {
    throw new InputError(`${dir}: not a run folder with a readable status.json and config.json (${(e as Error).message})`);
  }
  const side = fullPlan(cfg).filter(isTeacherSide);
  const missing = side.filter((s) => !status.completedStages.includes(s.id));
  if (!side.length || missing.length) throw new InputError(`${dir}: the run has not completed the teacher side (missing: ${missing.map((s) => s.id).join(', ') || 'no teacher track'})`);
  const store = storeOf(o.store);
  const ctx = { cfg, experimentFile: status.experiment, writer: new RunWriter(dir), stages: side };
  const key = runTeacherKey(ctx);
  const seconds = Math.max(0, (Date.parse(status.endedAt ?? status.updatedAt) - Date.parse(status.startedAt)) / 1000);
  if (!store.tryLock(key)) throw new Error(`teacher ${key} is being trained by process ${store.lockedBy(key)}; try again when it is done`);
  try {
    const e = publishFromRun(ctx, key, store, { seconds, backend: status.backend, runId: status.runId });
    process.stdout.write(`stored teacher ${key} from run ${status.runId}: ${e.dir}\n`);
  } finally {
    store.unlock(key);
  }
  return 0;
}

export function teacherRmCommand(keys: string[], o: { store?: string; all?: boolean }): number {
  const store = storeOf(o.store);
  const targets = o.all ? store.list().filter((e) => e.source === 'cache' && e.state !== 'training').map((e) => e.key) : keys;
  if (!targets.length) throw new InputError(o.all ? `the teacher store ${store.root} is empty` : 'name the keys to remove (see `llava-kd teacher list`) or pass --all');
  let missing = 0;
  for (const k of targets) {
    if (store.remove(k)) process.stdout.write(`removed ${k}\n`);
    else { process.stderr.write(`no stored teacher ${k} in ${store.root}${store.lookup(k) ? ' (it is a packaged teacher: read-only)' : ''}\n`); missing++; }
  }
  return missing ? 2 : 0;
}
