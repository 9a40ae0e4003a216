/**
 * The single declarative definition of every field of ExperimentConfig: type, constraints,
 * default (the values of the `default` preset) and a description. The validator (resolve.ts),
 * the JSON Schema (jsonSchema.ts) and the presets (presets.ts) are all derived from it.
 * Pure TypeScript (no tfjs, vscode or node imports).
 */
import type { StageKind } from '../../common/runFormat';
import { TOTAL_LOSS_FORMULA } from '../../common/lossTerms';
import { BACKEND_NAMES, type ExperimentConfig, type LossWeights, type ModelConfig, type StageConfig, type TeacherConfig } from './types';

// ---------------------------------------------------------------- node kinds

interface NodeBase {
  /** Plain-text description (hover text, CLI messages). */
  description: string;
  /** Markdown variant for the editor hover, where a formula reads better in markdown. */
  markdownDescription?: string;
}

export interface NumberNode extends NodeBase {
  type: 'number' | 'integer';
  default: number;
  /** value >= min */
  min?: number;
  /** value <= max */
  max?: number;
  /** value > exclusiveMin */
  exclusiveMin?: number;
  /** value < exclusiveMax */
  exclusiveMax?: number;
}

export interface BooleanNode extends NodeBase {
  type: 'boolean';
  default: boolean;
}

export interface StringNode extends NodeBase {
  type: 'string';
  default: string;
  minLength?: number;
}

export interface EnumNode<T extends string = string> extends NodeBase {
  type: 'enum';
  values: readonly T[];
  /** One line per value, shown next to the value in completions. */
  valueDescriptions: Record<T, string>;
  default: T;
}

export interface EnumArrayNode<T extends string = string> extends NodeBase {
  type: 'enumArray';
  values: readonly T[];
  valueDescriptions: Record<T, string>;
  /** No value may appear twice. */
  unique: boolean;
  default: T[];
}

export interface ObjectNode<T = unknown> extends NodeBase {
  type: 'object';
  fields: { [K in keyof T]-?: NodeFor<T[K]> };
}

export type LeafNode = NumberNode | BooleanNode | StringNode | EnumNode | EnumArrayNode;
/** Any node, untyped view (what the generic walkers use). */
export type SchemaNode = LeafNode | { type: 'object'; description: string; markdownDescription?: string; fields: Record<string, SchemaNode> };

/** Node type matching a TypeScript field type, so the schema is checked against types.ts by the compiler. */
export type NodeFor<T> = [T] extends [number]
  ? NumberNode
  : [T] extends [boolean]
    ? BooleanNode
    : [T] extends [string]
      ? string extends T
        ? StringNode
        : EnumNode<T>
      : [T] extends [readonly (infer E extends string)[]]
        ? EnumArrayNode<E>
        : [T] extends [object]
          ? ObjectNode<T>
          : never;

// ---------------------------------------------------------------- constants

/** Stage kinds that can appear in an MLLM track (vision and lm run when pipeline.pretrain is true). */
export const TRACK_STAGE_KINDS = ['pt', 'dpt', 'sft', 'dft'] as const;
/** Stage kinds that use a teacher (MDist + RDist). */
export const DISTILL_STAGE_KINDS: readonly StageKind[] = ['dpt', 'dft'];


export const LOSS_FORMULAS = {
  ce: 'CE = mean over shifted target positions i (token i+1 is a caption/answer token) of −log p_S[i](y[i+1])',
  res: 'L_res = mean over the same shifted response positions of D(p_T[i] ‖ p_S[i])',
  vis: 'L_vis = mean over the B·Np visual positions (unshifted: the logits emitted at the positions holding the visual tokens) of D(p_T[i] ‖ p_S[i])',
  rel: 'L_rel = 1 − cos(vec(Z_S Z_Sᵀ), vec(Z_T Z_Tᵀ)) per sample, Z = raw logits at the Np visual positions [Np, V], averaged over the batch (range [0, 2])',
} as const;

const DIVERGENCE_FORMULAS = {
  forward_kl: 'Forward KL: Σ_v p log(p/q) (the paper). p = teacher, q = student, both softmax(z/T).',
  reverse_kl: 'Reverse KL: Σ_v q log(q/p) (mode-seeking).',
  js: 'Jensen–Shannon: ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2.',
  tv: 'Total variation: ½ Σ_v |p − q|.',
  skew_forward_kl: 'Skewed forward KL: KL(p ‖ λp + (1−λ)q), λ = distill.skewLambda.',
  skew_reverse_kl: 'Skewed reverse KL: KL(q ‖ λq + (1−λ)p), λ = distill.skewLambda.',
} as const;

const STAGE_DESCRIPTIONS: Record<StageKind, string> = {
  vision: 'Vision encoder pre-training: attribute prediction on world images. The encoder is shared by teacher and student and frozen in every later stage.',
  lm: 'Text-only LM pre-training (next-token CE) of the teacher LM and of the student LM.',
  pt: 'Projector pre-training on image–caption pairs: only the projector trains, loss CE (teacher and baseline tracks).',
  dpt: 'Distilled pre-training on image–caption pairs: only the projector trains (the gradient flows through the frozen student LM), teacher frozen; loss CE + α·L_res + β·L_vis + γ·L_rel.',
  sft: 'Supervised fine-tuning on instruction conversations: projector + LM train, loss CE.',
  dft: 'Distilled fine-tuning on the same instruction data: projector + LM train, teacher frozen; loss CE + α·L_res + β·L_vis + γ·L_rel.',
};

// ---------------------------------------------------------------- builders

const int = (d: number, description: string, c: Partial<NumberNode> = {}): NumberNode => ({ type: 'integer', default: d, description, ...c });
const num = (d: number, description: string, c: Partial<NumberNode> = {}): NumberNode => ({ type: 'number', default: d, description, ...c });
const bool = (d: boolean, description: string): BooleanNode => ({ type: 'boolean', default: d, description });
const str = (d: string, description: string, c: Partial<StringNode> = {}): StringNode => ({ type: 'string', default: d, description, ...c });

function lossNode(kind: StageKind, d: LossWeights): ObjectNode<LossWeights> {
  const distills = DISTILL_STAGE_KINDS.includes(kind);
  const unused = distills ? '' : ` Must be 0: the ${kind} stage has no teacher (only dpt and dft distill).`;
  const ceText = kind === 'vision'
    ? 'Weight of the vision pre-training loss (cross-entropy of the attribute predictions).'
    : kind === 'lm'
      ? 'Weight of the next-token cross-entropy of LM pre-training.'
      : `Weight of the cross-entropy term (1 in the paper). ${LOSS_FORMULAS.ce}.`;
  const md = (greek: string, term: 'res' | 'vis' | 'rel', name: string): string =>
    `${greek}: weight of ${name}.\n\n\`${LOSS_FORMULAS[term]}\`\n\n\`${TOTAL_LOSS_FORMULA}\`${unused ? `\n\n${unused.trim()}` : ''}`;
  return {
    type: 'object',
    description: `Loss weights of the ${kind} stage. ${TOTAL_LOSS_FORMULA}; D = distill.divergence at distill.temperature.`,
    markdownDescription: `Loss weights of the ${kind} stage.\n\n\`${TOTAL_LOSS_FORMULA}\`\n\nD = \`distill.divergence\` at \`distill.temperature\`.`,
    fields: {
      ce: num(d.ce, ceText, { min: 0, markdownDescription: kind === 'vision' || kind === 'lm' ? undefined : `Weight of the cross-entropy term (1 in the paper).\n\n\`${LOSS_FORMULAS.ce}\`\n\n\`${TOTAL_LOSS_FORMULA}\`` }),
      res: num(d.res, `α: weight of MDist, response part. ${LOSS_FORMULAS.res}; D = distill.divergence. Paper: 1.${unused}`, { min: 0, markdownDescription: md('α', 'res', 'MDist, response part (paper: 1)') }),
      vis: num(d.vis, `β: weight of MDist, visual part. ${LOSS_FORMULAS.vis}; D = distill.divergence. Paper: 1.${unused}`, { min: 0, markdownDescription: md('β', 'vis', 'MDist, visual part (paper: 1)') }),
      rel: num(d.rel, `γ: weight of RDist (relation distillation). ${LOSS_FORMULAS.rel}. Paper: 0.5, released code: 1.${unused}`, { min: 0, markdownDescription: md('γ', 'rel', 'RDist (paper: 0.5, released code: 1)') }),
    },
  };
}

interface StageDefaults { steps: number; lr: number; loss?: LossWeights; batchSize?: number; evalEvery?: number; checkpointEvery?: number; logEvery?: number }
const CE_ONLY: LossWeights = { ce: 1, res: 0, vis: 0, rel: 0 };
const FULL_KD: LossWeights = { ce: 1, res: 1, vis: 1, rel: 0.5 };

function stageNode(kind: StageKind, d: StageDefaults, teacherTrack = false): ObjectNode<StageConfig> {
  const lrHint = kind === 'pt' || kind === 'dpt'
    ? ' Paper: 1e-3 (the default here too).'
    : kind === 'sft' || kind === 'dft'
      ? ' Paper: 2e-5 (preset `paper-lr`). The default is higher because our LMs start small and untrained: 2e-5 fine-tunes a pretrained 0.5B-4B LM, while a 48-128 wide LM trained from scratch for a few hundred steps barely moves at that rate.'
      : '';
  return {
    type: 'object',
    description: teacherTrack ? `teacher/${kind}: ${STAGE_DESCRIPTIONS[kind]} This is the teacher track's own copy; the students' ${kind} is stages.${kind}.` : `${kind}: ${STAGE_DESCRIPTIONS[kind]}`,
    fields: {
      steps: int(d.steps, 'Optimizer steps of the stage (one step = batchSize × gradAccum samples). The paper trains one epoch per stage; we count steps so that a stage costs the same whatever the data size (the built-in world is procedural, an epoch has no special meaning there).', { min: 1 }),
      batchSize: int(d.batchSize ?? 16, 'Samples per micro-batch. Paper: global batch 256 (DPT) and 128 (SFT, DFT); smaller here so that a stage trains in minutes on a laptop CPU (use gradAccum for the paper\'s effective batch).', { min: 1 }),
      gradAccum: int(1, 'Micro-batches accumulated per optimizer step (effective batch = batchSize × gradAccum).', { min: 1 }),
      optimizer: {
        type: 'object',
        description: `AdamW optimizer of the ${kind} stage.`,
        fields: {
          lr: num(d.lr, `Peak learning rate (after warm-up).${lrHint}`, { exclusiveMin: 0 }),
          weightDecay: num(0, 'Decoupled weight decay (AdamW). Paper: 0.', { min: 0 }),
          beta1: num(0.9, 'Adam β1 (decay of the first-moment average).', { min: 0, exclusiveMax: 1 }),
          beta2: num(0.999, 'Adam β2 (decay of the second-moment average).', { min: 0, exclusiveMax: 1 }),
          eps: num(1e-8, 'Adam ε added to the denominator.', { exclusiveMin: 0 }),
        },
      },
      warmupRatio: num(0.03, 'Fraction of the steps with linear warm-up from 0 to lr, then cosine decay to minLrRatio × lr. Paper: 0.03.', { min: 0, exclusiveMax: 1 }),
      minLrRatio: num(0.1, 'Final learning rate of the cosine decay, as a fraction of lr. Paper: 0 (cosine to zero, as in the HF trainer); 0.1 here keeps short stages learning to the end (preset `paper-lr` sets 0).', { min: 0, max: 1 }),
      clipNorm: num(1, 'Clip the global gradient norm to this value; 0 disables clipping.', { min: 0 }),
      loss: lossNode(kind, d.loss ?? CE_ONLY),
      evalEvery: int(d.evalEvery ?? 100, 'Evaluate on val every this many optimizer steps (and at the end of the stage).', { min: 1 }),
      logEvery: int(d.logEvery ?? 5, 'Write a metrics line every this many optimizer steps.', { min: 1 }),
      checkpointEvery: int(d.checkpointEvery ?? 100, 'Write the resumable checkpoint every this many optimizer steps (and at the end of the stage).', { min: 1 }),
    },
  };
}

const STAGE_KIND_DESCRIPTIONS: Record<(typeof TRACK_STAGE_KINDS)[number], string> = {
  pt: STAGE_DESCRIPTIONS.pt,
  dpt: STAGE_DESCRIPTIONS.dpt,
  sft: STAGE_DESCRIPTIONS.sft,
  dft: STAGE_DESCRIPTIONS.dft,
};

function trackNode(d: (typeof TRACK_STAGE_KINDS)[number][], description: string): EnumArrayNode<StageKind> {
  return {
    type: 'enumArray',
    values: TRACK_STAGE_KINDS,
    valueDescriptions: STAGE_KIND_DESCRIPTIONS as Record<StageKind, string>,
    unique: true,
    default: d,
    description,
  };
}

function lmNode(who: 'teacher' | 'student', d: { dim: number; layers: number; heads: number; mlpHidden: number }): ObjectNode<ModelConfig> {
  return {
    type: 'object',
    description: who === 'teacher'
      ? 'The teacher MLLM (projector + LM): trained first by the teacher track, then frozen. Must be clearly stronger than the student.'
      : 'The student MLLM (projector + LM) trained by the baseline and kd tracks.',
    fields: {
      lm: {
        type: 'object',
        description: `Qwen-style decoder LM of the ${who} (RMSNorm, rotary attention, SwiGLU MLP). Teacher and student share the tokenizer and vocabulary.`,
        fields: {
          dim: int(d.dim, 'Hidden width. Must be divisible by heads, with an even head width (dim / heads) for rotary embeddings.', { min: 1 }),
          layers: int(d.layers, 'Number of decoder blocks.', { min: 1 }),
          heads: int(d.heads, 'Attention heads per block.', { min: 1 }),
          mlpHidden: int(d.mlpHidden, 'Hidden width of the SwiGLU MLP.', { min: 1 }),
          ropeTheta: num(10000, 'Base θ of the rotary position embedding.', { exclusiveMin: 0 }),
          tieEmbeddings: bool(true, 'Share the token-embedding matrix with the output (logits) projection.'),
          rmsEps: num(1e-6, 'ε of RMSNorm.', { exclusiveMin: 0 }),
        },
      },
      projector: {
        type: 'object',
        description: `Projector of the ${who}: Linear(vision.dim → hidden) → GELU → Linear(hidden → lm.dim).`,
        fields: {
          hidden: int(who === 'teacher' ? 128 : 48, 'Hidden width of Linear → GELU → Linear (the output width is the LM width).', { min: 1 }),
        },
      },
    },
  };
}

/**
 * The teacher: its model (as the student's) and how the teacher side (vision encoder + teacher)
 * is trained. The defaults are the recipe measured in docs/teacher-study.md.
 */
function teacherNode(): NodeFor<TeacherConfig> {
  const model = lmNode('teacher', { dim: 128, layers: 3, heads: 4, mlpHidden: 256 });
  return {
    ...model,
    fields: {
      ...model.fields,
      seed: int(0, 'Seed of the teacher side: the vision encoder\'s and the teacher\'s initialisation and their data order. Apart from the experiment seed so that runs with different student seeds share one teacher (and one cached teacher).', { min: 0 }),
      lmPretrain: bool(false, 'Run the text-only LM pre-training (stage teacher/lm, stages.lm) before the teacher track (needs pipeline.pretrain). Off by default: measured, it does not teach the teacher to read the image (docs/teacher-study.md); the teacher track starts from a fresh LM.'),
      stages: {
        type: 'object',
        description: 'Hyper-parameters of the teacher track\'s stages (the students\' stages are in `stages`). The defaults train the teacher to ~90 % (docs/teacher-study.md): SFT with batch 32 for 4000 steps on the 30 000-image world.',
        fields: {
          pt: stageNode('pt', { steps: 300, lr: 1e-3, checkpointEvery: 100, evalEvery: 100 }, true),
          sft: stageNode('sft', { steps: 4000, lr: 1e-3, batchSize: 32, evalEvery: 500, checkpointEvery: 250, logEvery: 10 }, true),
        },
      },
      cache: {
        type: 'enum',
        values: ['reuse', 'off'],
        valueDescriptions: {
          reuse: 'Train the teacher side once per key (its resolved config, the data fingerprint and the model-format version), store it in the teacher store ($LLAVA_KD_CACHE_DIR/teachers, default ~/.cache/llava-kd; the extension uses its global storage) and reuse it in every later run, seed and sweep with the same key. The default teacher ships with the package.',
          off: 'Every run trains its own vision encoder and teacher (nothing read from or written to the teacher store).',
        },
        default: 'reuse',
        description: 'Whether the trained teacher side (vision encoder + teacher) is stored and reused across runs (`reuse`) or trained by every run (`off`). Manage the store with `llava-kd teacher list|train|rm`.',
      },
    },
  };
}

// ---------------------------------------------------------------- the schema

/** The definition of every field of ExperimentConfig; its defaults are the `default` preset. */
export const CONFIG_SCHEMA: ObjectNode<ExperimentConfig> = {
  type: 'object',
  description: 'A LLaVA-KD experiment: a diff over a named preset. Every field is optional; missing fields come from the preset.',
  fields: {
    preset: str('default', 'Named preset this experiment is a diff over (see the list of presets).'),
    name: str('default', 'Display name of the experiment (defaults to the preset name).', { minLength: 1 }),
    seed: int(0, 'Seed of weight initialisation and data order.', { min: 0 }),
    backend: {
      type: 'enum',
      values: [...BACKEND_NAMES],
      valueDescriptions: {
        auto: 'The fastest available: tensorflow-gpu, then tensorflow, then wasm.',
        'tensorflow-gpu': 'Native TensorFlow with CUDA (@tensorflow/tfjs-node-gpu).',
        tensorflow: 'Native TensorFlow on the CPU (@tensorflow/tfjs-node).',
        wasm: 'WebAssembly backend (@tensorflow/tfjs-backend-wasm); always available.',
        cpu: 'Plain JavaScript backend; slow, for debugging.',
      },
      default: 'auto',
      description: 'TensorFlow.js backend the trainer uses.',
    },
    onDivergence: {
      type: 'enum',
      values: ['warn', 'stop'],
      valueDescriptions: {
        warn: 'Log a warning (train.log, the metrics line, status.json, the extension) and go on.',
        stop: 'Warn, then fail the run at that step (its checkpoints so far are kept: lower the learning rate and resume).',
      },
      default: 'warn',
      description: 'What a divergence without NaN does: gradient norm 0 for 5 steps (vanishing updates), a gradient norm 1000× or a loss 10× the median of the last 20 steps, or weights grown 100× since the stage began. (NaN/Inf losses and weights always fail the run.)',
    },
    workers: int(0, 'Threads one run trains on (data parallel: each micro-batch is split into this many contiguous shards, one per thread with its own wasm backend; gradients added in a fixed order, so results are deterministic for a given count). 0 = auto, per stage: one per core (at most 2) when the stage\'s step is at least 0.5 GFLOP (estimated from the model sizes, batch size and maxLength), else one thread, since smaller steps are dominated by per-op costs every thread pays in full (status.json records each stage\'s count). Applies to the LM and MLLM stages on the wasm and cpu backends (native TensorFlow uses its own threads). Results differ in the last float bits between counts; resume with the same count is exact.', { min: 0, max: 16 }),
    data: {
      type: 'object',
      description: 'Training and evaluation data.',
      fields: {
        source: {
          type: 'enum',
          values: ['world', 'llava'],
          valueDescriptions: {
            world: 'The built-in procedural world of coloured shapes (generated on first use into worldDir).',
            llava: 'LLaVA-format JSON files (captions, instructions, val, test) with an image folder and a tokenizer.json.',
          },
          default: 'world',
          description: 'Where the data comes from.',
        },
        world: {
          type: 'object',
          description: 'The procedural world (used when source = world).',
          fields: {
            seed: int(0, 'Seed of the procedural world generator.', { min: 0 }),
            imageSize: int(48, 'Image side in pixels (square RGB). Must equal vision.imageSize.', { min: 8 }),
            trainImages: int(30000, 'Images of the train split. Every image gets one caption and several instruction conversations. 30 000 by default: with 3000 the teacher memorised them and stalled at ~55 % (docs/teacher-study.md); the world is procedural, so data is free.', { min: 1 }),
            valImages: int(200, 'Images of the val split (evaluated during training).', { min: 1 }),
            testImages: int(400, 'Images of the test split (evaluated at the end of each track).', { min: 1 }),
            maxObjects: int(3, 'Max number of objects per image.', { min: 1, max: 4 }),
            holdOutCombos: bool(true, 'Hold out some (colour, shape) combinations from training so that generalisation is measured.'),
          },
        },
        worldDir: str('world', 'Folder the world is written to / read from, relative to the experiment file.', { minLength: 1 }),
        captions: str('', 'LLaVA-format caption JSON (pre-training data), relative to the experiment file. Required when source = llava.'),
        instructions: str('', 'LLaVA-format instruction JSON (fine-tuning conversations), relative to the experiment file. Required when source = llava.'),
        val: str('', 'LLaVA-format validation JSON, relative to the experiment file. Required when source = llava.'),
        test: str('', 'LLaVA-format test JSON, relative to the experiment file. Required when source = llava.'),
        imageFolder: str('', 'Folder the image paths in the JSON files are relative to (itself relative to the experiment file). Required when source = llava.'),
        tokenizer: str('', 'Hugging Face tokenizer.json shared by teacher and student (they must share the vocabulary). Required when source = llava.'),
        maxImagePixels: int(36_000_000, 'Largest image (width × height, read from its header) the loaders accept; a bigger one is refused before it is decoded (a small file can claim a huge size: a decompression bomb). Default 6000 × 6000.', { min: 1 }),
        maxLength: int(64, 'Max tokens of one sequence including the Np visual tokens; longer samples are truncated. Must exceed Np = (vision.imageSize / vision.patchSize)².', { min: 2 }),
        systemPrompt: str('Answer the question about the image.', 'System line prepended to instruction conversations (`<system> USER: <image>\\n{question} ASSISTANT: {answer}<eos>`).'),
      },
    },
    vision: {
      type: 'object',
      description: 'The vision encoder (ViT), shared by teacher and student and frozen after its own pre-training.',
      fields: {
        imageSize: int(48, 'Input image side in pixels. Must be divisible by patchSize (and equal data.world.imageSize for the world).', { min: 1 }),
        patchSize: int(16, 'Patch side in pixels. Np = (imageSize / patchSize)² visual tokens (9 for 48 / 16: one per cell of the world 3×3 grid).', { min: 1 }),
        dim: int(64, 'Hidden width of the encoder. Must be divisible by heads.', { min: 1 }),
        depth: int(3, 'Number of transformer blocks.', { min: 1 }),
        heads: int(4, 'Attention heads per block.', { min: 1 }),
        mlpRatio: num(2, 'MLP hidden width as a multiple of dim.', { exclusiveMin: 0 }),
        featureLayer: int(-2, 'Block whose output feeds the projectors, Python-style index into the block outputs: -1 = last block, -2 = second-to-last (the paper), 0 = first block. Valid: -depth … depth−1.'),
        pretrainHead: {
          type: 'enum',
          values: ['flat', 'token'],
          valueDescriptions: {
            flat: 'One linear head over all patch features flattened: a cell\'s attributes may be spread over several tokens.',
            token: 'One linear head shared by the patch tokens predicts each token\'s own cell (colour, shape, size and the cell index): every visual token carries its cell, which is what the LMs read. Needs a 3×3 patch grid (imageSize / patchSize = 3); otherwise flat is used.',
          },
          default: 'token',
          description: 'Head of the vision pre-training objective on the built-in world (data.source = world); other data uses caption-word prediction.',
        },
      },
    },
    teacher: teacherNode(),
    student: lmNode('student', { dim: 48, layers: 1, heads: 2, mlpHidden: 96 }),
    distill: {
      type: 'object',
      description: 'The divergence D used by MDist (L_res and L_vis).',
      fields: {
        divergence: {
          type: 'enum',
          values: ['forward_kl', 'reverse_kl', 'js', 'tv', 'skew_forward_kl', 'skew_reverse_kl'],
          valueDescriptions: DIVERGENCE_FORMULAS,
          default: 'forward_kl',
          description: 'Divergence D(p_T ‖ p_S) of MDist (p = teacher, q = student, at temperature T). forward_kl: Σ p log(p/q) (the paper); reverse_kl: Σ q log(q/p); js: ½KL(p‖m)+½KL(q‖m), m=(p+q)/2; tv: ½ Σ |p−q|; skew_forward_kl: KL(p ‖ λp+(1−λ)q); skew_reverse_kl: KL(q ‖ λq+(1−λ)p).',
          markdownDescription: 'Divergence `D(p_T ‖ p_S)` of MDist (p = teacher, q = student, both `softmax(z / T)`):\n\n'
            + Object.entries(DIVERGENCE_FORMULAS).map(([k, v]) => `- \`${k}\`: ${v}`).join('\n'),
        },
        temperature: num(1, 'Softmax temperature T of both distributions in MDist (no T² factor). Paper: 1.', { exclusiveMin: 0 }),
        skewLambda: num(0.1, 'λ of the skewed KL divergences (mixing weight of the first distribution).', { min: 0, exclusiveMax: 1 }),
        teacherCache: {
          type: 'enum',
          values: ['exact', 'fp16', 'topk', 'off'],
          valueDescriptions: {
            exact: 'The frozen teacher\'s fp32 logits at the rows the losses read (response and visual positions) are computed once per teacher checkpoint, vision checkpoint and encoded data set, stored in the cache folder ($LLAVA_KD_CACHE_DIR, default ~/.cache/llava-kd) and replayed by every run with the same key; the same losses as the online teacher.',
            fp16: 'As exact, the logits stored as half floats: half the size; the rounding error is measured when the entry is built (index.json, the log) and the losses move by about 1e-3 relative.',
            topk: 'As exact, storing per row only the teacherCacheTopK largest logits and the log-sum-exp of the others (the tail\'s mass spread evenly over its tokens when replayed), plus each image\'s exact teacher relation matrix for RDist: for large vocabularies. L_res and L_vis then compare the student with that approximated teacher (exact when k = V); the mass left outside the top k is measured at build.',
            off: 'The teacher runs a forward pass on every batch (nothing written to the cache folder).',
          },
          default: 'exact',
          description: 'Where DPT and DFT get the teacher\'s outputs: `exact` (fp32), `fp16` or `topk` = a teacher-output cache built once and shared by runs, seeds and ablations with the same teacher, data and format; `off` = the teacher online every step.',
        },
        teacherCacheTopK: int(20, 'Logits kept per row by distill.teacherCache "topk" (part of the cache key).', { min: 1, max: 65536 }),
        teacherCacheMaxMB: num(4096, 'Largest teacher-output cache entry a stage may build, in MB (its size is computed before the build): a bigger one is not built, the stage runs the teacher online and says so (choose "fp16" or "topk" to shrink it).', { exclusiveMin: 0 }),
      },
    },
    pipeline: {
      type: 'object',
      description: 'Which stages each track runs, in order. Stage ids are <track>/<kind>, e.g. kd/dft.',
      fields: {
        teacher: trackNode(['pt', 'sft'], 'Stages of the teacher track (PT then SFT with the bigger LM). Must end in sft; may be empty when the teacher comes from an earlier run (--from).'),
        baseline: trackNode(['pt', 'sft'], 'Stages of the baseline track (the student trained without distillation: PT then SFT). May be empty to skip the baseline.'),
        kd: trackNode(['dpt', 'sft', 'dft'], 'Stages of the distilled student track. LLaVA-KD: DPT → SFT → DFT.'),
        pretrain: bool(true, 'Run vision pre-training and the two LM pre-trainings before the tracks.'),
      },
    },
    stages: {
      type: 'object',
      description: 'Hyper-parameters of each stage kind (shared by every track that runs that kind).',
      fields: {
        vision: stageNode('vision', { steps: 4000, lr: 2e-3, evalEvery: 4000, checkpointEvery: 500, logEvery: 20 }),
        lm: stageNode('lm', { steps: 300, lr: 2e-3 }),
        pt: stageNode('pt', { steps: 200, lr: 1e-3 }),
        dpt: stageNode('dpt', { steps: 200, lr: 1e-3, loss: FULL_KD }),
        sft: stageNode('sft', { steps: 400, lr: 1e-3 }),
        dft: stageNode('dft', { steps: 400, lr: 5e-4, loss: FULL_KD }),
      },
    },
    eval: {
      type: 'object',
      description: 'Evaluation during and after training.',
      fields: {
        valQuestions: int(200, 'Val questions evaluated per evaluation (0 = all).', { min: 0 }),
        samples: int(8, 'Samples with generated answers written to samples.jsonl per evaluation.', { min: 0 }),
        maxNewTokens: int(4, 'Max generated tokens per answer.', { min: 1 }),
      },
    },
  },
};

// ---------------------------------------------------------------- helpers

/** Untyped view of the schema for generic walkers. */
export const ROOT_NODE = CONFIG_SCHEMA as unknown as SchemaNode;

/** The full config made of the schema defaults (the `default` preset). A fresh copy each call. */
export function schemaDefaults(): ExperimentConfig {
  return defaultsOf(ROOT_NODE) as ExperimentConfig;
}

function defaultsOf(node: SchemaNode): unknown {
  if (node.type === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(node.fields)) out[k] = defaultsOf(child);
    return out;
  }
  if (node.type === 'enumArray') return [...node.default];
  return node.default;
}

/** Schema node at a dotted path (`stages.dft.loss.rel`), or undefined when no such field exists. */
export function fieldAt(path: string): SchemaNode | undefined {
  let node: SchemaNode = ROOT_NODE;
  if (path === '') return node;
  for (const seg of path.split('.')) {
    if (node.type !== 'object' || !Object.prototype.hasOwnProperty.call(node.fields, seg)) return undefined;
    node = node.fields[seg];
  }
  return node;
}

/** Every leaf of the schema as [dotted path, node], in definition order. */
export function schemaLeaves(node: SchemaNode = ROOT_NODE, prefix = ''): [string, LeafNode][] {
  if (node.type !== 'object') return [[prefix, node]];
  return Object.entries(node.fields).flatMap(([k, c]) => schemaLeaves(c, prefix ? `${prefix}.${k}` : k));
}
