/**
 * Public API of the experiment-config system (pure TypeScript; safe for the trainer, the
 * extension host and webviews). Reading files from disk lives in ./loadFile (node only).
 */
export type * from './types';
export { ConfigError, formatIssue, formatPath, parsePath, type ConfigIssue, type PathSegment } from './issues';
export { deepMerge, type DeepPartial } from './merge';
export {
  CONFIG_SCHEMA, DISTILL_STAGE_KINDS, LOSS_FORMULAS, TRACK_STAGE_KINDS,
  fieldAt, schemaDefaults, schemaLeaves, type SchemaNode, type LeafNode,
} from './schema';
export { PRESETS, PRESET_NAMES, isPresetName, presetConfig, type ConfigDiff, type PresetDef } from './presets';
export { describeExpected, editDistance, suggestKey, suggestValue, validateAgainstSchema } from './validate';
export { parseConfigText, type ParsedConfig, type PathLocation, type TextSpan } from './parseText';
export { resolveConfig, resolveConfigSafe, type ResolveOptions } from './resolve';
export {
  checkExperimentText, featureBlockIndex, loadExperimentText, semanticIssues, usedStageKinds, validateExperiment,
  visualTokenCount, type SemanticOptions, type ValidateOptions,
} from './semantic';
export { JSON_SCHEMA_DRAFT, toJsonSchema, type JsonSchema } from './jsonSchema';
export { diffConfigs, diffManyConfigs, flattenConfig, type ConfigDiffEntry, type DiffStatus, type FlatValue, type MultiDiffRow } from './configFlatten';
export { VALIDATION_KEYWORDS, toEditorJsonSchema } from './editorSchema';
export { SAFE_NAME, validateSlurmSpec, validateSweepSpec, type RandomDim, type SlurmSpec, type SweepSpec } from './sweepSpec';
