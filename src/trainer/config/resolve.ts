/**
 * Resolves an experiment file's JSON (a diff over a named preset) into a full ExperimentConfig:
 * deep-merges the diff over the preset (objects merge, arrays replace), then validates every
 * field against the schema; the `sweep` and `slurm` sections are validated (sweepSpec.ts) and left
 * out of the config. Pure TypeScript.
 */
import { ConfigError, showTyped, showValue, type ConfigIssue } from './issues';
import { deepMerge, isPlainObject } from './merge';
import type { ParsedConfig } from './parseText';
import { PRESET_NAMES, isPresetName, presetConfig } from './presets';
import type { ExperimentConfig } from './types';
import { editDistance, validateAgainstSchema } from './validate';
import { validateSlurmSpec, validateSweepSpec } from './sweepSpec';

export interface ResolveOptions {
  /** The parsed text (parseConfigText), to fill in the line and column of each issue. */
  parsed?: Pick<ParsedConfig, 'withPositions'>;
}

/** Merge + schema validation without throwing: the config when there is no error. */
export function resolveConfigSafe(raw: unknown, opts: ResolveOptions = {}): { config?: ExperimentConfig; errors: ConfigIssue[] } {
  const done = (errors: ConfigIssue[], config?: ExperimentConfig) =>
    ({ config: errors.length ? undefined : config, errors: opts.parsed ? opts.parsed.withPositions(errors) : errors });

  if (!isPlainObject(raw)) {
    return done([{ path: '', message: 'an experiment file must hold a JSON object', expected: 'a JSON object (a diff over a preset)', found: showTyped(raw) }]);
  }
  const errors: ConfigIssue[] = [];
  const diff: Record<string, unknown> = { ...raw };
  if ('$schema' in diff) {
    if (typeof diff.$schema !== 'string') errors.push({ path: '$schema', message: '$schema must be a string (the JSON Schema URL or path)', expected: 'a string', found: showTyped(diff.$schema) });
    delete diff.$schema;
  }
  // The sweep and slurm sections describe how to run many variants of this config, not the
  // config itself: checked here, kept out of the resolved config (src/trainer/sweep/ reads them).
  if ('sweep' in diff) errors.push(...validateSweepSpec(diff.sweep));
  if ('slurm' in diff) errors.push(...validateSlurmSpec(diff.slurm));
  delete diff.sweep;
  delete diff.slurm;

  let base = 'default';
  if (typeof diff.preset === 'string') {
    if (isPresetName(diff.preset)) {
      base = diff.preset;
    } else {
      const near = PRESET_NAMES.map((n) => [n, editDistance(n, diff.preset as string)] as const).sort((a, b) => a[1] - b[1])[0];
      const hint = near && near[1] <= 3 ? ` (did you mean ${JSON.stringify(near[0])}?)` : '';
      errors.push({
        path: 'preset',
        message: `unknown preset ${showValue(diff.preset)}${hint}; presets: ${PRESET_NAMES.join(', ')}`,
        expected: `one of ${PRESET_NAMES.map((n) => JSON.stringify(n)).join(', ')}${hint}`,
        found: showValue(diff.preset),
        ...(hint ? { suggestion: { of: 'value' as const, text: near[0] } } : {}),
      });
      delete diff.preset; // report the rest against the default preset
    }
  }

  const merged = deepMerge(presetConfig(base), diff);
  errors.push(...validateAgainstSchema(merged));
  return done(errors, merged as ExperimentConfig);
}

/**
 * The full config of an experiment file's JSON. `source` names the file in messages.
 * Throws ConfigError listing every problem (`<source>: <path>: expected <x>, found <y>`).
 */
export function resolveConfig(raw: unknown, source: string, opts: ResolveOptions = {}): ExperimentConfig {
  const { config, errors } = resolveConfigSafe(raw, opts);
  if (!config) throw new ConfigError(source, errors);
  return config;
}
