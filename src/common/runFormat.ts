/**
 * The on-disk contract between the trainer (writer) and the extension (reader).
 *
 * Layout of one experiment folder:
 *   <experiment dir>/kd-experiment.json          the experiment config (a diff over a preset)
 *   <experiment dir>/runs/<run id>/config.json   fully resolved config of that run
 *   <experiment dir>/runs/<run id>/status.json   RunStatus, rewritten atomically (tmp + rename)
 *   <experiment dir>/runs/<run id>/metrics.jsonl one MetricsLine per logged step, appended + flushed
 *   <experiment dir>/runs/<run id>/eval.jsonl    one EvalLine per evaluation
 *   <experiment dir>/runs/<run id>/samples.jsonl one SampleLine per sample per evaluation
 *   <experiment dir>/runs/<run id>/train.log     human-readable log
 *   <experiment dir>/runs/<run id>/checkpoints/<track>-<kind>.safetensors  final weights of a stage
 *   <experiment dir>/runs/<run id>/checkpoints/resume.safetensors          latest resumable state
 *   <experiment dir>/runs/<run id>/run-meta.json the user's name, tags and note of the run: written by
 *                                                the extension only, never by the trainer (runMeta.ts)
 *
 * This file holds types only (no runtime code), so both the trainer and the extension
 * host and the webviews can import it.
 */

/** Experiment config file name the extension and the CLI look for. */
export const EXPERIMENT_FILE = 'kd-experiment.json';

/** Which model a stage trains. `vision` is the shared encoder; `teacher`, `baseline`, `kd` are MLLM tracks. */
export const TRACKS = ['vision', 'teacher', 'student', 'baseline', 'kd'] as const;
export type Track = (typeof TRACKS)[number];

/**
 * Stage kinds.
 * - `vision`: vision encoder pre-training (attribute prediction on world images).
 * - `lm`: text-only LM pre-training of the teacher or student LM.
 * - `pt`: projector pre-training on captions, CE only.
 * - `dpt`: distilled pre-training (projector only, CE + MDist + RDist).
 * - `sft`: supervised fine-tuning (projector + LM, CE only).
 * - `dft`: distilled fine-tuning (projector + LM, CE + MDist + RDist).
 */
export const STAGE_KINDS = ['vision', 'lm', 'pt', 'dpt', 'sft', 'dft'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** Stage id `<track>/<kind>`, e.g. `teacher/sft`, `kd/dft`, `vision/vision`. */
export type StageId = string;

export type RunState = 'running' | 'completed' | 'failed' | 'stopped';

/** Names of the loss terms, as used in metrics lines and the dashboard. */
export type LossTerm = 'ce' | 'res' | 'vis' | 'rel' | 'task';

export interface RunStatus {
  runId: string;
  /** Absolute path of the experiment config this run was started from. */
  experiment: string;
  state: RunState;
  /** Stage ids of this run in order. */
  stages: StageId[];
  /** Stage ids finished so far. */
  completedStages: StageId[];
  /** Current (or last) stage id. */
  stage: StageId | null;
  /** Optimizer step inside the current stage (0-based count of steps done). */
  step: number;
  /** Total optimizer steps of the current stage. */
  totalSteps: number;
  /** Steps done over all stages of the run, and their total. */
  globalStep: number;
  globalTotalSteps: number;
  pid: number;
  /** Backend actually used, e.g. `wasm`, `tensorflow`, `tensorflow-gpu`, `cpu`. */
  backend: string;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Seconds of remaining time estimated from recent throughput; absent until known. */
  etaSeconds?: number;
  /** True while the ETA scales a kind of step not yet timed in this run from the others' FLOPs (train/runEta.ts): a rough guess. */
  etaRough?: boolean;
  /** Failure message (state `failed`), naming the stage/step/term where relevant. */
  error?: string;
  /** Last test/val accuracy per track evaluated, e.g. { kd: 0.71, baseline: 0.64, teacher: 0.83 }. */
  accuracy?: Record<string, number>;
  /** Run this one was resumed from or took its starting checkpoints from (`--from`). */
  from?: string;
  /** Teacher-output cache entries read by the distillation stages, by stage id (key and folder). */
  teacherCache?: Record<StageId, { key: string; path: string; mode?: 'exact' | 'fp16' | 'topk'; k?: number; stats?: { rows: number; maxAbsError?: number; maxRelError?: number; meanTailMass?: number; maxTailMass?: number } }>;
  /** Training threads of each stage started so far (config `workers`; auto is resolved per stage from its step's work). */
  threads?: Record<StageId, number>;
  /** Mean CPU cores the process kept busy over each stage's training loop so far (its CPU time over the loop's wall time, every thread counted). */
  cpuCores?: Record<StageId, number>;
  /** Divergence warnings raised so far (train/divergence.ts), oldest first. */
  warnings?: { stage: StageId; step: number; kind: string; message: string }[];
  /** The stored teacher side (vision encoder + teacher) the run used: reused from the store, or trained by this run and stored. */
  teacherStore?: TeacherStoreUse;
  /** A sweep point's run: its sweep and index, and the scheduler job of its latest attempt (sweepFormat.ts). */
  job?: RunJob;
}

/** Where a sweep point's run ran: the local engine, or a Slurm array task (`<array job>_<task>`, and the job's own id). */
export interface RunJob {
  sweep: string;
  point: number;
  engine: 'local' | 'slurm';
  jobId?: string;
  slurmJobId?: string;
  host?: string;
  /** Starts of this run folder so far (1 = first; resumed attempts count up). */
  attempt: number;
}

/** How a run got its teacher side from the teacher store (status.json and config.json). */
export interface TeacherStoreUse {
  key: string;
  /** Folder of the store entry. */
  path: string;
  /** `cache`/`package`: reused (from the cache folder / shipped with the extension); `trained`: trained by this run, then stored. */
  source: 'cache' | 'package' | 'trained';
  /** Test accuracy of the teacher recorded with the entry. */
  teacherAccuracy?: number;
}

/** One line of metrics.jsonl. Loss values are fp32 means; `loss` raw, `weighted` = weight * raw. */
export interface MetricsLine {
  time: string;
  stage: StageId;
  /** Optimizer step inside the stage, 1-based (the step just completed). */
  step: number;
  globalStep: number;
  lr: number;
  /** Raw value of every active term, plus `total`. */
  loss: Partial<Record<LossTerm, number>> & { total: number };
  /** weight * raw for every active term. */
  weighted: Partial<Record<LossTerm, number>>;
  /** Weight of every active term (ce is 1). */
  weights: Partial<Record<LossTerm, number>>;
  gradNorm: number;
  samplesPerSec: number;
  /** Tensors alive after the step (leak watch). */
  numTensors?: number;
  /** Resident memory of the trainer process after the step, MiB (system figure). */
  rssMb?: number;
  /** Memory the tensors of the backend hold after the step (tf.memory().numBytes), MiB: the GPU's on a GPU backend. */
  tensorMb?: number;
  /** Global L2 norm of the trained parameters after the step. */
  weightNorm?: number;
  /** Divergence warnings raised since the previous metrics line (their kinds; messages in status.json and train.log). */
  warnings?: string[];
}

/** One line of eval.jsonl. */
export interface EvalLine {
  time: string;
  stage: StageId;
  step: number;
  globalStep: number;
  /** `val` during training, `test` at the end of a track. */
  split: 'val' | 'test';
  /** The model evaluated: its track (`teacher`, `baseline`, `kd`). */
  model: string;
  accuracy: number;
  /** Accuracy per question type (color, shape, count, exist, spatial, ...). */
  byType: Record<string, number>;
  n: number;
  /**
   * Accuracy on the questions about held-out (colour, shape) combinations (compositional
   * generalisation) and on the others (in distribution); present when the data flags them.
   */
  byDistribution?: { inDist: number; nInDist: number; heldOut: number; nHeldOut: number };
  /** Key of the teacher-store entry this line was copied from (the run reused a stored teacher and did not train it). */
  teacherStore?: string;
}

/** One line of samples.jsonl: one generated answer for one question at one eval. */
export interface SampleLine {
  time: string;
  stage: StageId;
  step: number;
  globalStep: number;
  /** Sample id from the data file. */
  id: string;
  /** Absolute path of the image file (may be missing on disk: the UI shows a placeholder). */
  image: string;
  type: string;
  question: string;
  groundTruth: string;
  /** Answer of the model being trained in this stage. */
  answer: string;
  /** Answer of the teacher for the same question (absent when no teacher is loaded). */
  teacherAnswer?: string;
  /** Whether `answer` matches the ground truth. */
  correct: boolean;
  /** Whether `teacherAnswer` matches the ground truth (with it). */
  teacherCorrect?: boolean;
}

/**
 * One event printed per line on stdout by `llava-kd ... --json`.
 * A parent process (the extension) reads these; the run folder holds the same facts durably.
 */
export type TrainerEvent =
  | { event: 'started'; runDir: string; runId: string; backend: string; stages: StageId[]; pid: number }
  | ({ event: 'step'; totalSteps: number; /** Steps of every stage of the run (the progress denominator). */ globalTotalSteps: number; etaSeconds?: number; etaRough?: boolean } & MetricsLine)
  | ({ event: 'eval' } & EvalLine)
  | ({ event: 'sample' } & SampleLine)
  | { event: 'checkpoint'; stage: StageId; step: number; path: string }
  /** `step`: where the stage starts (its resume step; 0 when it starts afresh). */
  | { event: 'stage-start'; stage: StageId; totalSteps: number; step?: number }
  | { event: 'stage-done'; stage: StageId; step: number; checkpoint: string }
  | { event: 'finished'; state: RunState; runDir: string; accuracy?: Record<string, number> }
  | { event: 'log'; level: 'info' | 'warn'; message: string }
  | { event: 'error'; message: string; runDir?: string };
