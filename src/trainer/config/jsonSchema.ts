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
