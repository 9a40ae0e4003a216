/**
 * What every stage of a run works with: the config, the data, the run folder's writer, the
 * planned stages, the `--from` folders, the event/log sinks and the stop flag; and where a stage
 * finds the checkpoint it starts from. Imports trainer code and src/common only.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/types';
import type { TrainerEvent } from '../../common/runFormat';
import type { StagePlan } from '../../common/stagePlan';
import type { RunWriter } from '../io/runDir';
import type { LoadedCheckpoint } from '../io/checkpoint';
import type { DataBundle } from './data';

export interface RunContext {
  cfg: ExperimentConfig;
  experimentFile: string;
  data: DataBundle;
  writer: RunWriter;
  stages: StagePlan[];
  /** Other run folders whose checkpoints may serve as stage inputs (`--from`). */
  fromDirs: string[];
  emit: (e: TrainerEvent) => void;
  log: (m: string) => void;
  /** A warning (defaults to log). */
  warn?: (m: string) => void;
  stop: { requested: boolean };
  /** Stages already done (resume) and the in-stage resume checkpoint, if any. */
  completed: string[];
  resume?: LoadedCheckpoint;
}

/** Finds `<name>.safetensors` in this run or a --from run. */
export function findCheckpoint(ctx: Pick<RunContext, 'writer' | 'fromDirs'>, name: string, neededBy: string): string {
  const dirs = [ctx.writer.dir, ...ctx.fromDirs];
  for (const d of dirs) {
    const p = join(d, 'checkpoints', `${name}.safetensors`);
    if (existsSync(p)) return p;
  }
  throw new Error(`stage ${neededBy} needs checkpoint '${name}.safetensors', found in none of: ${dirs.map((d) => join(d, 'checkpoints')).join(', ')}. Run the stage that writes it first, or pass --from <run folder> holding it.`);
}
