/**
 * `llava-kd sweep-point <sweep dir> <index>`: runs one point of a sweep, the one command both
 * engines start (a local child process, or a Slurm array task). A point whose run folder is
 * complete is skipped; one that was stopped, timed out, killed or failed resumes from its last
 * checkpoint (exact resume); a fresh one starts its run from the point's diff, `--stages` and the
 * run folder of the point it starts from. Exit codes as `run`: 0, 130 stopped, 1 failed, 2 bad input.
 */
import { pointRunDir } from '../../common/sweepFormat';
import * as path from 'node:path';
import { hostname } from 'node:os';
import { readStatus } from '../../common/runReader';
import type { RunJob } from '../../common/runFormat';
import { InputError, resumeCommand, runCommand } from '../cli/runCommand';
import type { BackendName } from '../config/types';
import { loadSweep, runFolderState } from './manifest';

/** The scheduler job of this process: the Slurm array task from its environment, else the local engine. */
export function currentJob(sweep: string, point: number, attempt: number, env: NodeJS.ProcessEnv = process.env): RunJob {
  const array = env.SLURM_ARRAY_JOB_ID;
  const task = env.SLURM_ARRAY_TASK_ID;
  const base = { sweep, point, host: hostname(), attempt };
  if (env.SLURM_JOB_ID) return { ...base, engine: 'slurm', jobId: array && task ? `${array}_${task}` : env.SLURM_JOB_ID, slurmJobId: env.SLURM_JOB_ID };
  return { ...base, engine: 'local' };
}

export async function sweepPointCommand(sweepDir: string, indexText: string, json: boolean, backend?: BackendName): Promise<number> {
  let m;
  try {
    m = loadSweep(sweepDir);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const index = Number(indexText);
  const p = Number.isInteger(index) ? m.points[index] : undefined;
  if (!p) throw new InputError(`${path.join(sweepDir, 'sweep.json')}: no point ${indexText} (the sweep has points 0 to ${m.points.length - 1})`);
  const runDir = pointRunDir(path.resolve(sweepDir), p);
  const st = runFolderState(runDir);
  const say = (msg: string) => process.stderr.write(`sweep-point ${index}: ${msg}\n`);
  if (st.state === 'completed') {
    say(`${runDir} already completed; nothing to do`);
    return 0;
  }
  if (st.state === 'running') throw new InputError(`${runDir} is running (pid alive on ${st.host ?? 'this host'}): a point runs once at a time`);
  if (st.state !== 'absent') {
    const prev = readStatus(runDir);
    const attempt = (prev.ok ? prev.status.job?.attempt ?? 1 : 1) + 1;
    say(`resuming ${runDir} (${st.state}${st.error ? `: ${st.error.slice(0, 200)}` : ''}), attempt ${attempt}`);
    return resumeCommand(runDir, json, backend, currentJob(m.id, index, attempt));
  }
  let from: string[] | undefined;
  if (p.from !== undefined) {
    const src = m.points[p.from];
    const srcDir = src ? pointRunDir(path.resolve(sweepDir), src) : '';
    if (!src || runFolderState(srcDir).state !== 'completed') throw new InputError(`point ${index} (${p.key}) starts from point ${p.from} (${src?.key ?? '?'}), whose run ${srcDir || '?'} has not completed`);
    from = [srcDir];
  }
  return runCommand({
    experiment: m.experimentFile, stages: p.stages, from, backend, json,
    point: { diff: p.diff, runId: p.runId, record: { sweep: m.id, index, key: p.key, group: p.group, variant: p.variant, values: p.values, seed: p.seed }, job: currentJob(m.id, index, 1) },
  });
}
