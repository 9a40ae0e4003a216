/**
 * Arithmetic of one training micro-step, estimated from the configs (matMul FLOPs at the padded
 * length, the bound every batch stays under; the decoder computes only the real tokens, ~60 % of
 * that at the default sizes), and the worker count `workers: 0` (auto) takes from it. Splitting
 * a micro-batch over threads pays only when the step is compute-bound: below a few hundred MFLOP
 * a step is mostly tfjs' fixed cost per op, which every shard pays in full (bench:step at the
 * default sizes at commit 7911c76, by this estimate: the 0.37 GFLOP student step ran 0.65-0.99x
 * as fast on two threads as on one, the 1.48 GFLOP DFT step with its online teacher 1.19-1.29x,
 * the teacher's SFT step (3.4 GFLOP at bench:step's batch of 16) 1.05-1.17x; the latest run,
 * bench/results/step-default.txt: the student's steps 0.75-0.78x, the online DFT step 1.12x, the
 * teacher's SFT step 1.07x).
 */
import type { ExperimentConfig, LmConfig, ModelConfig, VisionConfig } from '../config/types';
import { stageConfig, type StagePlan } from '../../common/stagePlan';
import { numPatches, patchDim } from '../models/vision';

/** Work at and above which `auto` uses a second thread (between the measured losing and winning steps). */
export const AUTO_PARALLEL_GFLOP = 0.5;

/** Forward FLOPs of the decoder per token (projections, SwiGLU MLP, the LM head), attention scores aside. */
function lmFlopsPerToken(lm: LmConfig, vocab: number): number {
  const d = lm.dim;
  return 2 * lm.layers * (4 * d * d + 3 * d * lm.mlpHidden) + 2 * d * vocab;
}

/** Forward FLOPs of the ViT (up to its last block) and a projector per image. */
function visionFlopsPerImage(v: VisionConfig, projector: ModelConfig['projector'] | null, dLm: number): number {
  const np = numPatches(v);
  const d = v.dim;
  const blocks = v.depth * (2 * (4 * d * d + 2 * d * d * v.mlpRatio));
  const proj = projector ? 2 * (d * projector.hidden + projector.hidden * dLm) : 0;
  return np * (2 * patchDim(v) * d + blocks + proj);
}

export interface StepWork {
  /** The trained model (forward + backward: 3 × its forward). */
  trained: ModelConfig;
  /** A frozen teacher run online every step, or null (none, or replayed from its output cache). */
  onlineTeacher: ModelConfig | null;
  vision: VisionConfig;
  vocab: number;
  batchSize: number;
  /** Padded sequence length bound (data.maxLength). */
  maxLength: number;
}

/** Estimated GFLOP of one micro-step. */
export function stepGflop(w: StepWork): number {
  const tokens = w.batchSize * w.maxLength;
  const model = (m: ModelConfig) => tokens * lmFlopsPerToken(m.lm, w.vocab) + w.batchSize * visionFlopsPerImage(w.vision, m.projector, m.lm.dim);
  const frozenVision = w.batchSize * visionFlopsPerImage(w.vision, null, 0);
  return (3 * model(w.trained) + (w.onlineTeacher ? model(w.onlineTeacher) : 0) + frozenVision) / 1e9;
}

/**
 * Threads for a stage: a configured count as given; `0` (auto) one per core (at most 2: the
 * shards stay large enough), or 1 when the step is under {@link AUTO_PARALLEL_GFLOP}.
 * @returns the count and, for auto, why
 */
export function resolveWorkers(configured: number, cores: number, gflop: number): { n: number; reason: string } {
  if (configured > 0) return { n: configured, reason: `workers ${configured}` };
  const max = Math.max(1, Math.min(2, cores));
  if (max < 2) return { n: 1, reason: 'auto: one core' };
  if (gflop < AUTO_PARALLEL_GFLOP) return { n: 1, reason: `auto: ${gflop.toFixed(2)} GFLOP a step, under the ${AUTO_PARALLEL_GFLOP} at which a second thread pays` };
  return { n: max, reason: `auto: ${gflop.toFixed(2)} GFLOP a step` };
}

/**
 * The work of a stage's micro-step (`stage.model` trained; the teacher counted when it runs
 * online, i.e. not replayed from its output cache).
 */
export function stageStepGflop(cfg: ExperimentConfig, stage: Pick<StagePlan, 'track' | 'kind' | 'model'>, vocab: number, onlineTeacher: boolean): number {
  return stepGflop({
    trained: stage.model === 'teacher' ? cfg.teacher : cfg.student,
    onlineTeacher: onlineTeacher ? cfg.teacher : null,
    vision: cfg.vision,
    vocab,
    batchSize: stageConfig(cfg, stage).batchSize,
    maxLength: cfg.data.maxLength,
  });
}
