/**
 * Reads configs for the panels: the resolved config of an experiment file (validated with the
 * trainer's pure config module; semantic errors still give a config to show), the config.json of
 * a run, the flattened columns of the config diff and the hyper-parameter targets of the
 * dashboard form. Node fs only (no vscode), unit-tested in test/host-configSources.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkExperimentText, flattenConfig, formatIssue, parseConfigText, resolveConfigSafe, ConfigError } from '../../trainer/config';
import type { ConfigColumn, HyperTarget } from '../../common/messages';
import { stageHypersOf } from './configEdit';

export interface ConfigRead {
  /** The resolved config (or, when it does not resolve, the raw JSON). */
  config?: unknown;
  /** True when `config` is the fully resolved one. */
  resolved: boolean;
  /** First problem, formatted `<file>:<line>: <path>: expected …, found …`. */
  error?: string;
  errorCount: number;
}

/** Resolved config of an experiment file. */
export function readExperimentConfig(file: string): ConfigRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { resolved: false, error: `${file}: cannot be read: ${(e as Error).message}`, errorCount: 1 };
  }
  const dir = path.dirname(file);
  const res = checkExperimentText(text, file, { fileExists: (rel) => fs.existsSync(path.resolve(dir, rel)) });
  if (res.config) return { config: res.config, resolved: true, errorCount: 0 };
  const error = res.errors.length ? formatIssue(file, res.errors[0]) + (res.errors.length > 1 ? ` (+${res.errors.length - 1} more)` : '') : `${file}: invalid`;
  // Semantic problems (e.g. a missing data file) still leave a resolvable config worth showing.
  try {
    const parsed = parseConfigText(text, file);
    const r = resolveConfigSafe(parsed.value);
    if (r.config) return { config: r.config, resolved: true, error, errorCount: res.errors.length };
    return { config: parsed.value, resolved: false, error, errorCount: res.errors.length };
  } catch (e) {
    if (e instanceof ConfigError) return { resolved: false, error, errorCount: res.errors.length };
    throw e;
  }
}

/** config.json of a run folder. */
export function readRunConfig(runDir: string): ConfigRead {
  const file = path.join(runDir, 'config.json');
  try {
    return { config: JSON.parse(fs.readFileSync(file, 'utf8')) as unknown, resolved: true, errorCount: 0 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { resolved: false, error: code === 'ENOENT' ? `${file}: no config.json (the run has not started)` : `${file}: ${(e as Error).message}`, errorCount: 1 };
  }
}

/** True when a diff source is an experiment file (else it is a run folder). */
export function isExperimentSource(source: string): boolean {
  return path.basename(source) === 'kd-experiment.json';
}

/** One config-diff column for a run folder or an experiment file. */
export function configColumn(source: string, label: string): ConfigColumn {
  const exp = isExperimentSource(source);
  const r = exp ? readExperimentConfig(source) : readRunConfig(source);
  const col: ConfigColumn = {
    key: source,
    label,
    kind: exp ? 'experiment' : 'run',
    path: exp ? source : path.join(source, 'config.json'),
    values: r.config === undefined ? {} : withoutSweepRecord(flattenConfig(r.config)),
  };
  if (r.error) col.error = r.resolved ? r.error : `${r.error} — showing the file as written`;
  return col;
}

/**
 * A sweep point's record (config.json `sweepPoint`: index, key, seed …) is not configuration: it
 * differs between every two points and would split seed groups. The values it names are real
 * config fields and differ there already.
 */
function withoutSweepRecord(values: ReturnType<typeof flattenConfig>): ReturnType<typeof flattenConfig> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !k.startsWith('sweepPoint.'))) as ReturnType<typeof flattenConfig>;
}

/** Hyper-parameter form target of an experiment file; falls back to a run's config.json for values. */
export function hyperTarget(file: string, name: string, fallbackRunDir?: string): HyperTarget {
  const r = readExperimentConfig(file);
  let config = r.resolved ? r.config : undefined;
  if (!config && fallbackRunDir) config = readRunConfig(fallbackRunDir).config;
  const distill = (config as { distill?: { divergence?: unknown; temperature?: unknown } } | undefined)?.distill;
  const t: HyperTarget = {
    experimentFile: file,
    experimentName: name,
    stages: stageHypersOf(config),
    divergence: typeof distill?.divergence === 'string' ? distill.divergence : 'forward_kl',
    temperature: typeof distill?.temperature === 'number' ? distill.temperature : 1,
  };
  if (r.error) t.error = r.error;
  return t;
}

/** Divergence of a run's config.json (for the loss labels). */
export function runDivergence(runDir: string): string | undefined {
  const c = readRunConfig(runDir).config as { distill?: { divergence?: unknown } } | undefined;
  return typeof c?.distill?.divergence === 'string' ? c.distill.divergence : undefined;
}
