/**
 * Node-only: reads an experiment file from disk and resolves it, checking that the data files
 * it names exist relative to the file's folder. Everything else in this folder is pure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from './issues';
import { checkExperimentText, type SemanticOptions } from './semantic';
import type { ExperimentConfig } from './types';

/** Resolves a path from the config (relative to the experiment file) to an absolute path. */
export function resolveConfigPath(experimentFile: string, relPath: string): string {
  return isAbsolute(relPath) ? relPath : resolve(dirname(resolve(experimentFile)), relPath);
}

/** Parses, resolves and validates an experiment file; every problem comes back with its line. */
export function checkExperimentFile(file: string, opts: Omit<SemanticOptions, 'fileExists'> = {}): { config?: ExperimentConfig; errors: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [{ path: '', message: `cannot read ${file}: ${(e as Error).message}`, expected: 'a readable experiment file', found: (e as NodeJS.ErrnoException).code ?? 'an error' }] };
  }
  return checkExperimentText(text, file, { ...opts, fileExists: (rel) => existsSync(resolveConfigPath(file, rel)) });
}

/** The resolved config of an experiment file; throws ConfigError (naming file, line and field) on any problem. */
export function loadExperimentFile(file: string, opts: Omit<SemanticOptions, 'fileExists'> = {}): ExperimentConfig {
  const { config, errors } = checkExperimentFile(file, opts);
  if (!config) throw new ConfigError(file, errors);
  return config;
}
