/**
 * Checks the text of a kd-experiment.json with the trainer's pure config validation, data files
 * looked up relative to the file: the one check behind the diagnostics, the CodeLens, the quick
 * fixes and the check before a run starts. Node fs only (no vscode).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkExperimentText, type ConfigIssue } from '../../trainer/config';

/** Every problem of `text`, the content of the experiment file `file` (what `llava-kd run` refuses). */
export function experimentProblems(text: string, file: string): ConfigIssue[] {
  const dir = path.dirname(file);
  return checkExperimentText(text, file, { fileExists: (rel) => fs.existsSync(path.resolve(dir, rel)) }).errors;
}
