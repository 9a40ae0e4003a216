/**
 * The helper threads of one stage (cfg.workers on the wasm/cpu backends, see stepPool.ts and
 * stepCost.ts), or null for one thread. They start from the main thread's current weights (fresh
 * or resumed) and the stage's teacher (its cache folder, or its weights when it runs online).
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import type { LossWeights } from '../config/types';
import type { StagePlan } from '../../common/stagePlan';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import type { RunContext } from './runContext';
import type { TeacherSource } from './step';
import { resolveWorkers, stageStepGflop } from './stepCost';
import { StepPool } from './stepPool';
import { CachedTeacher } from './teacherCache';

/** @param names the trained variables' names, in the order gradients and weights are exchanged */
export async function startStagePool(ctx: Pick<RunContext, 'cfg' | 'data' | 'log'>, stage: StagePlan, vision: VisionEncoder, trained: Mllm, teacher: Mllm | null, source: TeacherSource | null, names: string[], weights: LossWeights): Promise<StepPool | null> {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return null;
  const online = !!teacher && !(source instanceof CachedTeacher);
  const { n, reason } = resolveWorkers(ctx.cfg.workers, availableParallelism(), stageStepGflop(ctx.cfg, stage, ctx.data.tokenizer.vocabSize, online));
  if (n < 2) {
    ctx.log(`stage ${stage.id}: 1 training thread (${reason})`);
    return null;
  }
  const spec = (m: Mllm) => ({ cfg: m.cfg, dVision: m.dVision, vocab: m.vocab, params: m.params.export() });
  const t0 = Date.now();
  const pool = await StepPool.start(n - 1, {
    backend,
    vision: { cfg: vision.cfg, params: vision.params.export('vision.') },
    student: spec(trained),
    teacher: source instanceof CachedTeacher ? { cacheDir: source.dir } : teacher ? spec(teacher) : null,
    trainable: names, weights, distill: ctx.cfg.distill,
    np: ctx.data.np, patchDim: ctx.data.patchDim, padId: ctx.data.tokenizer.padId,
  });
  ctx.log(`stage ${stage.id}: ${n} training threads (${reason}; data parallel, ${n - 1} helper${n > 2 ? 's' : ''} started in ${Date.now() - t0} ms)`);
  return pool;
}
