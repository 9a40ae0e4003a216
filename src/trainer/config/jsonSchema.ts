/**
 * Draft-07 JSON Schema of an experiment file, generated from the declarative schema (schema.ts):
 * descriptions (plus VS Code's markdownDescription / enumDescriptions), defaults of the
 * `default` preset, enums, ranges, additionalProperties false. Every field is optional because
 * a file is a diff over a preset. Pure TypeScript; scripts/write-schema.ts writes it to disk.
 */
import { PRESETS, PRESET_NAMES } from './presets';
import { ROOT_NODE, type SchemaNode } from './schema';
import { TOTAL_LOSS_FORMULA } from '../../common/lossTerms';

export type JsonSchema = { [key: string]: unknown };

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

function describe(node: SchemaNode): JsonSchema {
  return { description: node.description, ...(node.markdownDescription ? { markdownDescription: node.markdownDescription } : {}) };
}

function convert(node: SchemaNode): JsonSchema {
  switch (node.type) {
    case 'object': {
      const properties: JsonSchema = {};
      for (const [k, child] of Object.entries(node.fields)) properties[k] = convert(child);
      return { type: 'object', ...describe(node), properties, additionalProperties: false };
    }
    case 'boolean':
      return { type: 'boolean', ...describe(node), default: node.default };
    case 'string':
      return { type: 'string', ...describe(node), default: node.default, ...(node.minLength ? { minLength: node.minLength } : {}) };
    case 'enum':
      return {
        type: 'string',
        ...describe(node),
        enum: [...node.values],
        enumDescriptions: node.values.map((v) => node.valueDescriptions[v]),
        default: node.default,
      };
    case 'enumArray':
      return {
        type: 'array',
        ...describe(node),
        items: { type: 'string', enum: [...node.values], enumDescriptions: node.values.map((v) => node.valueDescriptions[v]) },
        ...(node.unique ? { uniqueItems: true } : {}),
        default: [...node.default],
      };
    default: {
      const s: JsonSchema = { type: node.type, ...describe(node), default: node.default };
      if (node.min !== undefined) s.minimum = node.min;
      if (node.max !== undefined) s.maximum = node.max;
      if (node.exclusiveMin !== undefined) s.exclusiveMinimum = node.exclusiveMin;
      if (node.exclusiveMax !== undefined) s.exclusiveMaximum = node.exclusiveMax;
      return s;
    }
  }
}

const configPath = { type: 'string', description: 'Dotted path of a config field, e.g. "stages.dft.loss.rel" (not "seed": use seeds).' };
const range = (what: string) => ({ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, description: what });

/** The `sweep` section (validated by sweepSpec.ts, which names each problem; this describes it for the editor). */
const SWEEP_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Runs many variants of this experiment: variants × grid combinations × random draws × seeds, each an ordinary run folder (llava-kd sweep, "LLaVA-KD: Run Sweep"; docs/sweeps.md). Not part of the config a run uses.',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'Name of the sweep (part of its folder name). Default "sweep".' },
    grid: { type: 'object', description: 'Config path → the values to try; the points are every combination.', additionalProperties: { type: 'array', minItems: 1 }, propertyNames: configPath },
    random: {
      type: 'object', additionalProperties: false, required: ['samples', 'space'],
      description: 'Random draws over config paths, each combined with every grid point.',
      properties: {
        samples: { type: 'integer', minimum: 1, description: 'How many draws.' },
        seed: { type: 'integer', description: 'Seed of the draws (default 0).' },
        space: {
          type: 'object', description: 'Config path → distribution.', propertyNames: configPath,
          additionalProperties: {
            oneOf: [
              { type: 'object', additionalProperties: false, required: ['uniform'], properties: { uniform: range('[lo, hi]: a float uniform in the range') } },
              { type: 'object', additionalProperties: false, required: ['logUniform'], properties: { logUniform: range('[lo, hi], lo > 0: a float uniform in log space') } },
              { type: 'object', additionalProperties: false, required: ['int'], properties: { int: range('[lo, hi]: an integer in the range, ends included') } },
              { type: 'object', additionalProperties: false, required: ['choice'], properties: { choice: { type: 'array', minItems: 1, description: 'One of these values.' } } },
            ],
          },
        },
      },
    },
    seeds: { description: 'Seeds of every point: a count n (seeds 0 … n − 1) or a list. Default: the experiment\'s seed.', oneOf: [{ type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, uniqueItems: true }] },
    variants: { type: 'object', description: 'Named variants: a config diff over this experiment, or a preset name. Default: one variant "main".', additionalProperties: { oneOf: [{ type: 'object' }, { type: 'string', enum: [...PRESET_NAMES] }] } },
    startFrom: {
      type: 'object', description: 'Variant → the variant whose run (same seed and values) it starts from, training only `stages` (e.g. the stage ablations from the full pipeline).',
      additionalProperties: { type: 'object', additionalProperties: false, required: ['variant', 'stages'], properties: { variant: { type: 'string' }, stages: { type: 'string', description: '--stages of the variant\'s runs, e.g. "kd".' } } },
    },
    parallel: { type: 'integer', minimum: 1, description: 'Points at once on the local engine (default: the cores over each run\'s threads); the job array\'s % limit on Slurm.' },
  },
};

/** The `slurm` section: resources of each array task (`llava-kd sweep --engine slurm`). */
const SLURM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Resources of each point when a sweep runs on Slurm (--engine slurm): the #SBATCH lines of its job array.',
  additionalProperties: false,
  properties: {
    partition: { type: 'string', description: '--partition (checked against sinfo before submitting).' },
    time: { type: 'string', description: '--time of each point: minutes, "MM:SS", "HH:MM:SS" or "D-HH[:MM[:SS]]". At the limit the point checkpoints and stops; resuming the sweep continues it.' },
    cpusPerTask: { type: 'integer', minimum: 1, description: '--cpus-per-task (default 1).' },
    mem: { description: '--mem: megabytes, or a size such as "4G".', oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+[KMGT]?$' }] },
    extra: { type: 'array', items: { type: 'string', pattern: '^--' }, description: 'More #SBATCH flags, e.g. "--qos=normal", "--gres=gpu:1".' },
    setup: { type: 'array', items: { type: 'string' }, description: 'Shell lines before the point\'s command, e.g. "module load nodejs".' },
  },
};

/** The JSON Schema of `kd-experiment.json` (a fresh object each call). */
export function toJsonSchema(): JsonSchema {
  const root = convert(ROOT_NODE);
  const props = root.properties as JsonSchema;
  props.preset = {
    type: 'string',
    description: 'Named preset this experiment is a diff over. Every field not in this file comes from the preset.',
    enum: [...PRESET_NAMES],
    enumDescriptions: PRESET_NAMES.map((n) => PRESETS[n].description),
    default: 'default',
  };
  props.sweep = structuredClone(SWEEP_SCHEMA);
  props.slurm = structuredClone(SLURM_SCHEMA);
  return {
    $schema: JSON_SCHEMA_DRAFT,
    title: 'LLaVA-KD experiment (kd-experiment.json)',
    ...root,
    markdownDescription: `A LLaVA-KD experiment: a diff over a named \`preset\`; every field is optional.\n\nObjective of the distilled stages: \`${TOTAL_LOSS_FORMULA}\`.`,
    properties: {
      $schema: { type: 'string', description: 'URL or path of this JSON Schema (ignored by the trainer).' },
      ...props,
    },
  };
}
