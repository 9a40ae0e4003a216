/**
 * Types of a fully resolved experiment config. An experiment file (`kd-experiment.json`) is a
 * partial diff of this shape over a named preset; `resolveConfig` fills every field.
 * Pure types (and the list of backend names): no tfjs, no vscode (the extension imports this too).
 */
import type { StageKind } from '../../common/runFormat';

/** The TensorFlow.js backends a run can ask for (the one list: schema, CLI, extension setting). */
export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Divergence used by MDist. Formulas (p = teacher, q = student, at temperature T):
 * forward_kl: Σ p log(p/q); reverse_kl: Σ q log(q/p); js: ½KL(p‖m)+½KL(q‖m), m=(p+q)/2;
 * tv: ½ Σ |p−q|; skew_forward_kl: KL(p ‖ λp+(1−λ)q); skew_reverse_kl: KL(q ‖ λq+(1−λ)p). */
export type Divergence = 'forward_kl' | 'reverse_kl' | 'js' | 'tv' | 'skew_forward_kl' | 'skew_reverse_kl';

export interface WorldConfig {
  /** Seed of the procedural world generator. */
  seed: number;
  /** Image side in pixels (square RGB). */
  imageSize: number;
  /** Number of images of each split. Every image gets one caption and several instruction conversations. */
  trainImages: number;
  valImages: number;
  testImages: number;
  /** Max number of objects per image (1..4). */
  maxObjects: number;
  /** Hold out some (colour, shape) combinations from training so that generalisation is measured. */
  holdOutCombos: boolean;
}

export interface DataConfig {
  /** `world`: the built-in procedural world (generated on first use); `llava`: files below. */
  source: 'world' | 'llava';
  world: WorldConfig;
  /** Folder the world is written to / read from, relative to the experiment file. */
  worldDir: string;
  /** LLaVA-format JSON files (relative to the experiment file). Used when source = llava. */
  captions: string;
  instructions: string;
  val: string;
  test: string;
  /** Folder image paths in the JSON files are relative to. */
  imageFolder: string;
  /** Hugging Face tokenizer.json. */
  tokenizer: string;
  /** Max tokens of one sequence including the Np visual tokens; longer samples are truncated. */
  maxLength: number;
  /** Largest image (pixels, from its header) the loaders accept. */
  maxImagePixels: number;
  /** System line prepended to instruction conversations. */
  systemPrompt: string;
}

export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  /** Layer the features are taken from: -2 = second-to-last block (the paper). */
  featureLayer: number;
  /** Head of the vision pre-training on the built-in world: over the flattened tokens, or shared by the tokens. */
  pretrainHead: 'flat' | 'token';
}

export interface LmConfig {
  dim: number;
  layers: number;
  heads: number;
  /** Hidden width of the SwiGLU MLP. */
  mlpHidden: number;
  ropeTheta: number;
  tieEmbeddings: boolean;
  rmsEps: number;
}

export interface ProjectorConfig {
  /** Hidden width of Linear -> GELU -> Linear (output width is the LM width). */
  hidden: number;
}

export interface ModelConfig {
  lm: LmConfig;
  projector: ProjectorConfig;
}

/** The teacher: its model, and how the teacher side (vision encoder + teacher) is trained. */
export interface TeacherConfig extends ModelConfig {
  /** Seed of the teacher side (vision encoder and teacher init, their data order), apart from the experiment seed so that student seeds share one teacher. */
  seed: number;
  /** Run the text-only LM pre-training (stage teacher/lm) before the teacher track (needs pipeline.pretrain). */
  lmPretrain: boolean;
  /** Hyper-parameters of the teacher track's stages (the students' are in `stages`). */
  stages: Record<'pt' | 'sft', StageConfig>;
  /** `reuse`: the trained teacher side is stored in the teacher store (keyed by everything it depends on) and reused by every run with the same key; `off`: every run trains its own. */
  cache: 'reuse' | 'off';
}

export interface LossWeights {
  /** Weight of CE (1 in the paper). */
  ce: number;
  /** α: MDist response part. */
  res: number;
  /** β: MDist visual part. */
  vis: number;
  /** γ: RDist. */
  rel: number;
}

export interface OptimizerConfig {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface StageConfig {
  /** Optimizer steps of the stage (one step = batchSize * gradAccum samples). */
  steps: number;
  batchSize: number;
  gradAccum: number;
  optimizer: OptimizerConfig;
  /** Fraction of steps of linear warm-up, then cosine decay to minLrRatio * lr. */
  warmupRatio: number;
  minLrRatio: number;
  /** Global gradient-norm clip; 0 disables. */
  clipNorm: number;
  /** Loss weights; only dpt/dft use res/vis/rel. */
  loss: LossWeights;
  evalEvery: number;
  logEvery: number;
  checkpointEvery: number;
}

export interface DistillConfig {
  divergence: Divergence;
  temperature: number;
  /** λ of skewed KL. */
  skewLambda: number;
  /** `exact`/`fp16`/`topk`: the teacher's logits at the loss rows computed once per (teacher, data, format), stored so, and replayed; `off`: the teacher runs every step. */
  teacherCache: 'exact' | 'fp16' | 'topk' | 'off';
  /** Logits kept per row in `topk` mode. */
  teacherCacheTopK: number;
  /** Largest cache entry (MB) a stage builds; above it the teacher runs online. */
  teacherCacheMaxMB: number;
}

export interface PipelineConfig {
  /** Stage kinds of each track, in order. */
  teacher: StageKind[];
  baseline: StageKind[];
  kd: StageKind[];
  /** Run vision pre-training and the two LM pre-trainings first. */
  pretrain: boolean;
}

export interface EvalConfig {
  /** Questions evaluated per eval on val (0 = all). */
  valQuestions: number;
  /** Samples with generated answers written to samples.jsonl per eval. */
  samples: number;
  /** Max generated tokens per answer. */
  maxNewTokens: number;
}

export interface ExperimentConfig {
  /** Preset this experiment is a diff over. */
  preset: string;
  name: string;
  seed: number;
  backend: BackendName;
  /** What a detected divergence (vanishing/exploding updates, loss spikes, weight growth) does: a warning, or also stop the run. */
  onDivergence: 'warn' | 'stop';
  /** Threads one run trains MLLM stages on (data parallel, wasm/cpu backends); 0 = auto. */
  workers: number;
  data: DataConfig;
  vision: VisionConfig;
  teacher: TeacherConfig;
  student: ModelConfig;
  distill: DistillConfig;
  pipeline: PipelineConfig;
  /** Hyper-parameters per stage kind. */
  stages: Record<StageKind, StageConfig>;
  eval: EvalConfig;
}
