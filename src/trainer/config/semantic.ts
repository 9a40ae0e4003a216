/**
 * Checks of a resolved config that the schema cannot express (relations between fields, the
 * pipeline's shape, files that must exist), and `validateExperiment`, which runs the schema and
 * these checks and returns every problem. Pure TypeScript: file existence comes from a callback.
 */
import type { StageKind } from '../../common/runFormat';
import { ConfigError, showValue, type ConfigIssue } from './issues';
import { parseConfigText, type ParsedConfig } from './parseText';
import { resolveConfigSafe } from './resolve';
import { DISTILL_STAGE_KINDS } from './schema';
import { STAGE_KINDS } from '../../common/runFormat';
import type { ExperimentConfig } from './types';

export interface SemanticOptions {
  /** True when `relPath` (relative to the experiment file's folder) exists. Omit to skip existence checks. */
  fileExists?: (relPath: string) => boolean;
  /** The teacher comes from an earlier run (`--from`), so the teacher track may be empty. */
  hasFromRun?: boolean;
}

/** Number of visual tokens Np = (imageSize / patchSize)². */
export function visualTokenCount(cfg: Pick<ExperimentConfig, 'vision'>): number {
  return Math.floor(cfg.vision.imageSize / cfg.vision.patchSize) ** 2;
}

/** 0-based index of the vision block whose output feeds the projectors (featureLayer is Python-style). */
export function featureBlockIndex(featureLayer: number, depth: number): number {
  return featureLayer < 0 ? depth + featureLayer : featureLayer;
}

/** Stage kinds the pipeline runs (vision and lm when pretrain is set, then those of the tracks). */
export function usedStageKinds(cfg: ExperimentConfig): Set<StageKind> {
  const used = new Set<StageKind>([...cfg.pipeline.teacher, ...cfg.pipeline.baseline, ...cfg.pipeline.kd]);
  if (cfg.pipeline.pretrain) {
    used.add('vision');
    used.add('lm');
  }
  return used;
}

const LLAVA_FILES = ['captions', 'instructions', 'val', 'test', 'imageFolder', 'tokenizer'] as const;
const PRE = new Set<StageKind>(['pt', 'dpt']);

/** Every semantic problem of a config that passed the schema. */
export function semanticIssues(cfg: ExperimentConfig, opts: SemanticOptions = {}): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: string, message: string, expected: string, found: string, related?: string[]): void => {
    out.push({ path, message, expected, found, ...(related ? { related } : {}) });
  };
  const v = cfg.vision;

  // --- vision encoder and sequence length
  if (cfg.data.source === 'world' && v.imageSize !== cfg.data.world.imageSize) {
    add('vision.imageSize', `vision.imageSize (${v.imageSize}) must equal data.world.imageSize (${cfg.data.world.imageSize}): the encoder sees the world images unscaled`,
      `${cfg.data.world.imageSize} (= data.world.imageSize)`, String(v.imageSize), ['data.world.imageSize']);
  }
  if (v.imageSize % v.patchSize !== 0) {
    add('vision.patchSize', `vision.patchSize (${v.patchSize}) must divide vision.imageSize (${v.imageSize}) so the patches tile the image`,
      `a divisor of vision.imageSize (${v.imageSize})`, String(v.patchSize), ['vision.imageSize']);
  } else {
    const np = visualTokenCount(cfg);
    if (np >= cfg.data.maxLength) {
      add('data.maxLength', `data.maxLength (${cfg.data.maxLength}) leaves no room for text after the Np = (${v.imageSize}/${v.patchSize})² = ${np} visual tokens`,
        `more than Np = ${np}`, String(cfg.data.maxLength), ['vision.patchSize', 'vision.imageSize']);
    }
  }
  if (v.dim % v.heads !== 0) {
    add('vision.heads', `vision.heads (${v.heads}) must divide vision.dim (${v.dim})`, `a divisor of vision.dim (${v.dim})`, String(v.heads), ['vision.dim']);
  }
  if (v.featureLayer < -v.depth || v.featureLayer > v.depth - 1) {
    add('vision.featureLayer', `vision.featureLayer (${v.featureLayer}) names no block of a ${v.depth}-block encoder`,
      `an integer in [${-v.depth}, ${v.depth - 1}] (vision.depth = ${v.depth})`, String(v.featureLayer), ['vision.depth']);
  }

  // --- LMs
  for (const who of ['teacher', 'student'] as const) {
    const lm = cfg[who].lm;
    const p = `${who}.lm`;
    if (lm.dim % lm.heads !== 0) {
      add(`${p}.heads`, `${p}.heads (${lm.heads}) must divide ${p}.dim (${lm.dim})`, `a divisor of ${p}.dim (${lm.dim})`, String(lm.heads), [`${p}.dim`]);
    } else if ((lm.dim / lm.heads) % 2 !== 0) {
      add(`${p}.dim`, `${p}: head width dim/heads = ${lm.dim}/${lm.heads} = ${lm.dim / lm.heads} must be even for rotary embeddings`,
        'an even head width (dim / heads)', `${lm.dim / lm.heads}`, [`${p}.heads`]);
    }
  }

  // --- pipeline
  const pl = cfg.pipeline;
  if (pl.kd.length === 0) add('pipeline.kd', 'pipeline.kd must list at least one stage', 'at least one stage, e.g. ["dpt", "sft", "dft"]', '[]');
  for (const track of ['teacher', 'baseline', 'kd'] as const) {
    const kinds = pl[track];
    kinds.forEach((k, i) => {
      if (track !== 'kd' && DISTILL_STAGE_KINDS.includes(k)) {
        add(`pipeline.${track}[${i}]`, `the ${track} track cannot run ${k}: it distils from the teacher (only the kd track does)`,
          '"pt" or "sft"', JSON.stringify(k));
      }
      const later = kinds.slice(0, i).find((x) => !PRE.has(x));
      if (PRE.has(k) && later) {
        add(`pipeline.${track}[${i}]`, `pipeline.${track}: pre-training stage ${k} comes after fine-tuning stage ${later}`,
          'pt/dpt before sft/dft', JSON.stringify(kinds));
      }
    });
  }
  if (pl.teacher.length > 0 && pl.teacher[pl.teacher.length - 1] !== 'sft') {
    add('pipeline.teacher', 'the teacher track must end with sft (the teacher is a complete instruction-tuned MLLM)',
      'a track ending in "sft", e.g. ["pt", "sft"]', JSON.stringify(pl.teacher));
  }
  const distilling = [...pl.kd, ...pl.baseline].filter((k) => DISTILL_STAGE_KINDS.includes(k));
  if (distilling.length > 0 && pl.teacher.length === 0 && !opts.hasFromRun) {
    add('pipeline.teacher', `${distilling.join(' and ')} need a teacher: pipeline.teacher is empty and no --from run provides one`,
      'a teacher track ending in "sft" (or a --from run with a teacher)', '[]', ['pipeline.kd']);
  }

  // --- loss weights
  const used = usedStageKinds(cfg);
  for (const kind of STAGE_KINDS) {
    const loss = cfg.stages[kind].loss;
    const distills = DISTILL_STAGE_KINDS.includes(kind);
    if (!distills) {
      for (const term of ['res', 'vis', 'rel'] as const) {
        if (loss[term] !== 0) {
          add(`stages.${kind}.loss.${term}`, `stages.${kind}.loss.${term} is ${loss[term]}, but the ${kind} stage has no teacher (only dpt and dft distill)`,
            `0 (${kind} has no teacher)`, String(loss[term]));
        }
      }
    }
    const total = loss.ce + (distills ? loss.res + loss.vis + loss.rel : 0);
    if (used.has(kind) && total === 0) {
      add(`stages.${kind}.loss`, `every loss weight of the ${kind} stage is 0, so it would not train`,
        distills ? 'at least one of ce, res, vis, rel > 0' : 'ce > 0', showValue(loss));
    }
  }

  for (const kind of ['pt', 'sft'] as const) {
    const loss = cfg.teacher.stages[kind].loss;
    for (const term of ['res', 'vis', 'rel'] as const) {
      if (loss[term] !== 0) {
        add(`teacher.stages.${kind}.loss.${term}`, `teacher.stages.${kind}.loss.${term} is ${loss[term]}, but the teacher track has no teacher to distil from`, '0', String(loss[term]));
      }
    }
    if (cfg.pipeline.teacher.includes(kind) && loss.ce === 0) {
      add(`teacher.stages.${kind}.loss.ce`, `teacher.stages.${kind}.loss.ce is 0, so the teacher's ${kind} stage would not train`, 'ce > 0', '0');
    }
  }

  // --- data files
  if (cfg.data.source === 'llava') {
    for (const f of LLAVA_FILES) {
      const rel = cfg.data[f];
      const what = f === 'imageFolder' ? 'folder' : 'file';
      if (rel === '') {
        add(`data.${f}`, `data.${f} is required when data.source is "llava"`, `a ${what} path relative to the experiment file`, '""', ['data.source']);
      } else if (opts.fileExists && !opts.fileExists(rel)) {
        add(`data.${f}`, `data.${f}: ${JSON.stringify(rel)} does not exist (relative to the experiment file)`, `an existing ${what}`, `${JSON.stringify(rel)} (missing)`);
      }
    }
  }
  return out;
}

export interface ValidateOptions extends SemanticOptions {
  /** The parsed text (parseConfigText), to fill in line and column of each issue. */
  parsed?: ParsedConfig;
}

/** Schema + semantic validation of an experiment file's JSON. `config` is set only when there is no error. */
export function validateExperiment(raw: unknown, source: string, opts: ValidateOptions = {}): { config?: ExperimentConfig; errors: ConfigIssue[] } {
  void source; // issues carry paths; `source` is for symmetry with resolveConfig and for ConfigError below
  const { config, errors } = resolveConfigSafe(raw, { parsed: opts.parsed });
  if (!config) return { errors };
  const sem = semanticIssues(config, opts);
  if (sem.length === 0) return { config, errors: [] };
  return { errors: opts.parsed ? opts.parsed.withPositions(sem) : sem };
}

/**
 * Parses and validates experiment-file text: syntax errors, schema errors and semantic errors
 * all come back as issues with line and column (what the editor squiggles).
 */
export function checkExperimentText(text: string, source: string, opts: SemanticOptions = {}): { config?: ExperimentConfig; errors: ConfigIssue[] } {
  let parsed: ParsedConfig;
  try {
    parsed = parseConfigText(text, source);
  } catch (e) {
    if (e instanceof ConfigError) return { errors: e.errors };
    throw e;
  }
  return validateExperiment(parsed.value, source, { ...opts, parsed });
}

/** Like checkExperimentText but returns the config or throws one ConfigError listing every problem. */
export function loadExperimentText(text: string, source: string, opts: SemanticOptions = {}): ExperimentConfig {
  const { config, errors } = checkExperimentText(text, source, opts);
  if (!config) throw new ConfigError(source, errors);
  return config;
}
