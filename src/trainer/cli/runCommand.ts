/**
 * `run` and `resume`: validate everything that can be validated BEFORE creating a run folder
 * (config, stages, --from, data), then create the folder, run the stages and record the outcome.
 * Exit codes: 0 completed, 130 stopped by a signal, 1 failed, 2 bad input (nothing written).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RunJob, RunState, RunStatus } from '../../common/runFormat';
import type { SweepPointRecord } from '../../common/sweepFormat';
import { loadExperimentFile, resolveConfigPath } from '../config/loadFile';
import { ConfigError, resolveConfig } from '../config';
import { validateExperiment } from '../config/semantic';
import type { BackendName, ExperimentConfig } from '../config/types';
import { initBackend } from '../backend';
import { createNamedRunDir, createRunDir, RunWriter } from '../io/runDir';
import { loadCheckpoint, type LoadedCheckpoint } from '../io/checkpoint';
import { loadData, resolveDataPath } from '../train/data';
import { checkFromCheckpoints } from '../train/checkpointCheck';
import { removeStaleTemps } from '../../common/atomic';
import { fullPlan, selectStages, totalSteps, type StagePlan } from '../../common/stagePlan';
import { runStages } from '../train/runner';
import type { RunContext } from '../train/runContext';
import { provisionTeacherSide, usesTeacherStore } from '../teacher/provision';
import type { TeacherStore } from '../teacher/store';
import { makeOutput } from './output';
import { isProcessAlive } from '../../common/runReader';

export class InputError extends Error {}

export interface RunArgs {
  experiment: string;
  stages?: string;
  from?: string[];
  backend?: BackendName;
  /** Overrides the config's `workers`. */
  workers?: number;
  /** Overrides the config's `teacher.cache` (`teacher train` stores what it trains). */
  teacherCache?: 'reuse' | 'off';
  json: boolean;
  store?: TeacherStore;
  /** A sweep point (sweep/pointCommand.ts): its experiment-file diff instead of the file's own JSON, its run id, and the records it writes. */
  point?: PointRun;
}

/** What a sweep point's run writes beyond an ordinary run: config.json `sweepPoint`, status.json `job`. */
export interface PointRun {
  diff: Record<string, unknown>;
  runId: string;
  record: SweepPointRecord;
  job: RunJob;
}

interface Prepared {
  point?: PointRun;
  cfg: ExperimentConfig;
  experimentFile: string;
  plan: StagePlan[];
  fromDirs: string[];
  /** Teacher store to use (tests, `teacher train --out`); default: the user's cache and the packaged teachers. */
  store?: TeacherStore;
}

function checkFromDirs(from: string[] | undefined): string[] {
  return (from ?? []).map((f) => {
    const d = resolve(f);
    if (!existsSync(resolve(d, 'checkpoints'))) throw new InputError(`--from ${f}: not a run folder (no checkpoints/ inside ${d})`);
    return d;
  });
}

export async function runCommand(args: RunArgs): Promise<number> {
  const experimentFile = resolve(args.experiment);
  let prepared: Prepared;
  try {
    const cfg = args.point ? loadPointConfig(args.point.diff, experimentFile) : loadExperimentFile(experimentFile);
    if (args.backend) cfg.backend = args.backend;
    if (args.workers !== undefined) cfg.workers = args.workers;
    if (args.teacherCache) cfg.teacher.cache = args.teacherCache;
    const plan = selectStages(fullPlan(cfg), args.stages);
    prepared = { cfg, experimentFile, plan, fromDirs: checkFromDirs(args.from), store: args.store, point: args.point };
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return execute(prepared, args.json, null);
}

/** The resolved config of a sweep point's diff, checked like its experiment file (data paths relative to it). */
function loadPointConfig(diff: Record<string, unknown>, experimentFile: string): ExperimentConfig {
  const { config, errors } = validateExperiment(diff, experimentFile, { fileExists: (rel) => existsSync(resolveConfigPath(experimentFile, rel)) });
  if (!config) throw new ConfigError(experimentFile, errors);
  return config;
}

/**
 * The resolved config of a run folder's config.json, which also holds the records of the stored
 * teacher the run used (`teacherStore`) and of its sweep point (`sweepPoint`), not config fields.
 * Throws on unreadable or invalid files.
 */
export function loadRunConfig(configFile: string): ExperimentConfig {
  const { teacherStore: _used, sweepPoint: _point, ...saved } = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  return resolveConfig(saved, configFile);
}

/**
 * A run folder's status.json, checked for the fields resume relies on.
 * @throws an Error naming the file and the defect (invalid JSON, a missing or mistyped field)
 */
export function readRunStatus(statusFile: string): RunStatus {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(statusFile, 'utf8'));
  } catch (e) {
    throw new Error(`${statusFile}: not valid JSON (${(e as Error).message}): the run's status file is damaged; its checkpoints and metrics are untouched`);
  }
  const st = raw as Record<string, unknown>;
  const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const want: [string, (v: unknown) => boolean, string][] = [
    ['runId', (v) => typeof v === 'string', 'a string'],
    ['experiment', (v) => typeof v === 'string', 'the path of the experiment file'],
    ['state', (v) => typeof v === 'string', 'a run state'],
    ['stages', isStrings, 'an array of stage ids'],
    ['completedStages', isStrings, 'an array of stage ids'],
  ];
  if (typeof st !== 'object' || st === null || Array.isArray(st)) throw new Error(`${statusFile}: expected a JSON object (a run status)`);
  for (const [k, ok, what] of want) if (!ok(st[k])) throw new Error(`${statusFile}: field "${k}" must be ${what}, found ${st[k] === undefined ? 'nothing' : JSON.stringify(st[k])?.slice(0, 60)}`);
  return st as unknown as RunStatus;
}

/** @param job a sweep point's run resumed by its sweep: status.json `job` is replaced by this attempt's */
export async function resumeCommand(runDir: string, json: boolean, backend?: BackendName, job?: RunJob): Promise<number> {
  const dir = resolve(runDir);
  const statusFile = resolve(dir, 'status.json');
  const configFile = resolve(dir, 'config.json');
  let prepared: Prepared;
  let status: RunStatus;
  try {
    if (!existsSync(statusFile) || !existsSync(configFile)) throw new Error(`${dir}: not a run folder (needs status.json and config.json)`);
    status = readRunStatus(statusFile);
    if (status.state === 'completed') throw new Error(`${dir}: run already completed; nothing to resume`);
    if (status.state === 'running' && isProcessAlive(status.pid) && status.pid !== process.pid) throw new Error(`${dir}: run is still running (pid ${status.pid})`);
    const cfg = loadRunConfig(configFile);
    if (backend) cfg.backend = backend;
    const all = fullPlan(cfg);
    const plan = status.stages.map((id) => {
      const s = all.find((p) => p.id === id);
      if (!s) throw new Error(`${statusFile}: stage '${id}' is not part of the run's config`);
      return s;
    });
    prepared = { cfg, experimentFile: status.experiment, plan, fromDirs: checkFromDirs(status.from ? status.from.split(',') : []) };
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return execute(prepared, json, { dir, status, job });
}

async function execute(p: Prepared, json: boolean, resuming: { dir: string; status: RunStatus; job?: RunJob } | null): Promise<number> {
  const boot = makeOutput(json);
  const backend = await initBackend(p.cfg.backend);
  for (const s of backend.skipped) boot.log(`backend: skipped ${s}`);
  boot.log(`backend: ${backend.name} (requested ${backend.requested})`);
  let data;
  try {
    data = loadData(p.cfg, p.experimentFile, (m) => boot.log(m));
    // A fresh run: the checkpoints its stages take from --from folders, by header.
    if (!resuming) checkFromCheckpoints(p.cfg, p.plan, p.fromDirs, data.tokenizer.vocabSize);
  } catch (e) {
    throw new InputError((e as Error).message);
  }

  // Inputs are valid: from here on, the run folder exists and records everything.
  const { runId, dir } = resuming ? { runId: resuming.status.runId, dir: resuming.dir } : p.point ? createNamedRunDir(dirname(p.experimentFile), p.point.runId) : createRunDir(dirname(p.experimentFile));
  const writer = new RunWriter(dir);
  const out = makeOutput(json, (m) => writer.log(m));
  // Temp files of writers killed mid-write (this run folder's, its checkpoints', the world's parent).
  const worldParent = p.cfg.data.source === 'world' ? dirname(resolveDataPath(p.experimentFile, p.cfg.data.worldDir)) : undefined;
  const stale = [dir, join(dir, 'checkpoints'), ...(worldParent ? [worldParent] : [])].flatMap((d) => removeStaleTemps(d, isProcessAlive));
  if (stale.length) out.log(`removed ${stale.length} temp file(s) left by killed writers: ${stale.join(', ')}`);
  const now = new Date().toISOString();
  let resume: LoadedCheckpoint | undefined;
  const completed = resuming ? [...resuming.status.completedStages] : [];
  if (resuming) {
    const rp = writer.checkpointPath('resume');
    if (existsSync(rp)) {
      const ck = loadCheckpoint(rp);
      if (!completed.includes(ck.meta.stage)) resume = ck;
    }
    // The lines the killed/stopped process wrote after its last checkpoint are written again by
    // this one: drop them, so every (stage, step) appears once.
    const dropped = writer.dropSupersededLines((l) => l.stage === undefined || completed.includes(l.stage)
      || (resume !== undefined && l.stage === resume.meta.stage && (l.step ?? 0) <= resume.meta.step));
    if (Object.keys(dropped).length) out.log(`resume: removed the lines the interrupted process wrote after its last checkpoint (${Object.entries(dropped).map(([f, n]) => `${f}: ${n}`).join(', ')})`);
    writer.writeStatus({ ...resuming.status, state: 'running', pid: process.pid, backend: backend.name, updatedAt: now, error: undefined, endedAt: undefined, ...(resuming.job ? { job: resuming.job } : {}) });
    out.log(`resuming run ${runId} at ${resume ? `${resume.meta.stage} step ${resume.meta.step}` : `the stage after ${completed[completed.length - 1] ?? '(none)'}`}`);
  } else {
    writer.writeConfig(p.point ? { ...p.cfg, sweepPoint: p.point.record } : p.cfg);
    writer.writeStatus({
      runId, experiment: p.experimentFile, state: 'running', stages: p.plan.map((s) => s.id), completedStages: [],
      stage: null, step: 0, totalSteps: 0, globalStep: 0, globalTotalSteps: totalSteps(p.cfg, p.plan),
      pid: process.pid, backend: backend.name, startedAt: now, updatedAt: now, ...(p.fromDirs.length ? { from: p.fromDirs.join(',') } : {}),
      ...(p.point ? { job: p.point.job } : {}),
    });
  }
  out.emit({ event: 'started', runDir: dir, runId, backend: backend.name, stages: p.plan.map((s) => s.id), pid: process.pid });
  out.log(`run ${runId} in ${dir}: stages ${p.plan.map((s) => s.id).join(', ')}`);

  const stop = { requested: false };
  const onSignal = (sig: string) => {
    if (stop.requested) return;
    stop.requested = true;
    out.log(`${sig} received: stopping after the current step and saving a resumable checkpoint`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const ctx: RunContext = { cfg: p.cfg, experimentFile: p.experimentFile, data, writer, stages: p.plan, fromDirs: p.fromDirs, emit: out.emit, log: out.log, warn: out.warn, stop, completed, resume };
    let state: RunState = 'completed';
    if (usesTeacherStore(p.cfg, p.plan) && !writer.status?.teacherStore) state = await provisionTeacherSide(ctx, (only) => runStages(ctx, only), p.store);
    if (state === 'completed') state = await runStages(ctx);
    const final = writer.updateStatus({ state, endedAt: new Date().toISOString(), etaSeconds: undefined, etaRough: undefined });
    out.log(`run ${runId} ${state}; tensors alive: ${tf.memory().numTensors}`);
    out.emit({ event: 'finished', state, runDir: dir, accuracy: final.accuracy });
    out.close();
    return state === 'stopped' ? 130 : 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const st = writer.status;
    const message = (e as Error).message + (code === 'ENOSPC' || code === 'EDQUOT' ? ` (stage ${st?.stage ?? 'none'}, step ${st?.step ?? 0})` : '');
    writer.updateStatus({ state: 'failed', error: message, endedAt: new Date().toISOString() });
    writer.log(`FAILED: ${(e as Error).stack ?? message}`);
    out.emit({ event: 'error', message, runDir: dir });
    out.close();
    return 1;
  }
}
