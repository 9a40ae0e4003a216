/**
 * Named presets. `default` is the schema defaults (schema.ts); every other preset is a small
 * diff over `default` or over another preset (`extends`). An experiment file picks one with
 * `"preset"` and is itself a diff over it. Pure TypeScript.
 */
import type { StageKind } from '../../common/runFormat';
import { deepMerge, type DeepPartial } from './merge';
import { schemaDefaults } from './schema';
import { STAGE_KINDS } from '../../common/runFormat';
import type { ExperimentConfig, LossWeights, StageConfig } from './types';

/** A config diff (what an experiment file or a preset holds, minus `preset`). */
export type ConfigDiff = DeepPartial<Omit<ExperimentConfig, 'preset'>>;

export interface PresetDef {
  /** One line shown in the preset picker and the JSON Schema. */
  description: string;
  /** Preset this one is a diff over (default: `default`). */
  extends?: string;
  diff: ConfigDiff;
}

/** Same diff for every stage kind, with optional per-kind extras. */
function allStages(common: DeepPartial<StageConfig>, perKind: Partial<Record<StageKind, DeepPartial<StageConfig>>> = {}): ConfigDiff['stages'] {
  const out: Partial<Record<StageKind, DeepPartial<StageConfig>>> = {};
  for (const k of STAGE_KINDS) out[k] = deepMerge(common, perKind[k] ?? {}) as DeepPartial<StageConfig>;
  return out;
}

const kdLoss = (loss: Partial<LossWeights>): ConfigDiff => ({ stages: { dpt: { loss }, dft: { loss } } });
const kdTrack = (kd: StageKind[], description: string): PresetDef => ({ description, diff: { pipeline: { kd } } });

export const PRESETS: Readonly<Record<string, PresetDef>> = {
  default: {
    description: 'The built-in study: 48 px world of 30 000 train images, 9 visual tokens (16 px patches), teacher LM 128 wide × 3 layers trained once (SFT 4000 × 32) and reused from the teacher store (shipped with the package), student 48 × 1 trained in minutes on a 2-core laptop CPU. DPT → SFT → DFT with α=1, β=1, γ=0.5.',
    diff: {},
  },
  tiny: {
    description: 'For tests: same structure as default, every stage 6–10 steps, the teacher trained by every run (teacher.cache off); the whole pipeline trains in well under a minute.',
    diff: {
      data: { world: { trainImages: 200, valImages: 40, testImages: 40 } },
      vision: { dim: 32, depth: 2 },
      teacher: {
        lm: { dim: 32, layers: 1, heads: 4, mlpHidden: 64 }, projector: { hidden: 32 },
        // Tests check what every stage trains: each run trains its own teacher (the store has its own tests).
        cache: 'off',
        stages: { pt: { steps: 6, batchSize: 4, evalEvery: 5, logEvery: 1, checkpointEvery: 5 }, sft: { steps: 10, batchSize: 4, evalEvery: 5, logEvery: 1, checkpointEvery: 5 } },
      },
      student: { lm: { dim: 16, layers: 1, heads: 2, mlpHidden: 32 }, projector: { hidden: 16 } },
      stages: allStages(
        { steps: 10, batchSize: 4, evalEvery: 5, logEvery: 1, checkpointEvery: 5 },
        { pt: { steps: 6 }, dpt: { steps: 6 } },
      ),
      eval: { valQuestions: 16, samples: 4 },
    },
  },
  'paper-weights': {
    description: 'Loss weights of the paper: α=1, β=1, γ=0.5 in DPT and DFT (pinned, in case default is tuned).',
    diff: kdLoss({ ce: 1, res: 1, vis: 1, rel: 0.5 }),
  },
  'code-weights': {
    description: 'Loss weights of the released training code: α=1, β=1, γ=1 in DPT and DFT.',
    diff: kdLoss({ ce: 1, res: 1, vis: 1, rel: 1 }),
  },
  'paper-lr': {
    description: 'The paper\'s optimisation: lr 1e-3 in PT/DPT, 2e-5 in SFT/DFT, cosine to 0 with 3% warm-up, weight decay 0 (batch size and steps stay ours; use gradAccum for the paper\'s global batch).',
    diff: {
      stages: Object.fromEntries((['pt', 'dpt', 'sft', 'dft'] as const).map((k) => [k, {
        warmupRatio: 0.03, minLrRatio: 0, optimizer: { lr: k === 'pt' || k === 'dpt' ? 1e-3 : 2e-5, weightDecay: 0 },
      }])),
    },
  },
  large: {
    description: 'Benchmark sizes (bench:step --preset large): teacher LM 256 × 4, student 128 × 2, vision 128 × 4, 64 px images with 16 px patches (16 visual tokens), sequences up to 128 tokens. For measuring how speed scales with model size; not tuned for accuracy.',
    diff: {
      data: { world: { imageSize: 64 }, maxLength: 128 },
      vision: { imageSize: 64, dim: 128, depth: 4 },
      teacher: { lm: { dim: 256, layers: 4, heads: 8, mlpHidden: 512 }, projector: { hidden: 256 } },
      student: { lm: { dim: 128, layers: 2, heads: 4, mlpHidden: 256 }, projector: { hidden: 128 } },
    },
  },
  'ablation-pt-sft': kdTrack(['pt', 'sft'], 'Stage ablation: kd track PT → SFT (no distillation: the same as the baseline). Paper (0.5B): 54.7.'),
  'ablation-dpt-sft': kdTrack(['dpt', 'sft'], 'Stage ablation: kd track DPT → SFT. Paper (0.5B): 55.6.'),
  'ablation-pt-dft': kdTrack(['pt', 'dft'], 'Stage ablation: kd track PT → DFT. Paper (0.5B): 55.8.'),
  'ablation-dpt-dft': kdTrack(['dpt', 'dft'], 'Stage ablation: kd track DPT → DFT. Paper (0.5B): 55.9.'),
  'ablation-pt-sft-dft': kdTrack(['pt', 'sft', 'dft'], 'Stage ablation: kd track PT → SFT → DFT. Paper (0.5B): 56.6.'),
  'ablation-dpt-sft-dft': kdTrack(['dpt', 'sft', 'dft'], 'Stage ablation: kd track DPT → SFT → DFT (the full method, = default). Paper (0.5B): 57.9.'),
  'terms-res': {
    description: 'MDist term ablation: DPT and DFT with L_res only (β = γ = 0). Paper (0.5B): DPT 54.9, DFT 57.2.',
    diff: kdLoss({ vis: 0, rel: 0 }),
  },
  'terms-res-vis': {
    description: 'MDist term ablation: DPT and DFT with L_res + L_vis (γ = 0). Paper (0.5B): DPT 55.1, DFT 57.7.',
    diff: kdLoss({ rel: 0 }),
  },
  'terms-all': {
    description: 'Term ablation: DPT and DFT with L_res + L_vis + L_rel (α=1, β=1, γ=0.5, = default).',
    diff: kdLoss({ ce: 1, res: 1, vis: 1, rel: 0.5 }),
  },
};

/** Names of every preset, in definition order. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

export function isPresetName(name: unknown): name is string {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/**
 * The full config of a preset (follows `extends`; a fresh copy each call). `preset` is set to
 * the name, and `name` too unless the preset sets one. Throws on an unknown name or a cycle.
 */
export function presetConfig(name: string): ExperimentConfig {
  const chain: string[] = [];
  for (let n: string | undefined = name; n !== undefined && n !== 'default'; n = PRESETS[n].extends ?? 'default') {
    if (!isPresetName(n)) throw new Error(`unknown preset "${n}"${chain.length ? ` (extended by "${chain[chain.length - 1]}")` : ''}; presets: ${PRESET_NAMES.join(', ')}`);
    if (chain.includes(n)) throw new Error(`preset cycle: ${[...chain, n].join(' -> ')}`);
    chain.push(n);
  }
  let cfg: unknown = schemaDefaults();
  for (const n of chain.reverse()) cfg = deepMerge(cfg, PRESETS[n].diff);
  const out = cfg as ExperimentConfig;
  out.preset = name;
  if (!chain.some((n) => PRESETS[n].diff.name !== undefined)) out.name = name;
  return out;
}
