/**
 * `demo`: the newcomer's first command. Scaffolds an experiment on the built-in world (if the
 * folder has none), runs the whole pipeline, and prints teacher vs baseline vs LLaVA-KD on test.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE, type EvalLine } from '../../common/runFormat';
import { readJsonl } from '../../common/runReader';
import type { BackendName } from '../config/types';
import { runCommand } from './runCommand';
import { listRuns } from '../../common/runReader';

/** Markdown table of test accuracy per model and question type from a run's eval.jsonl. */
export function comparisonTable(evals: EvalLine[]): string {
  const test = evals.filter((e) => e.split === 'test');
  const types = [...new Set(test.flatMap((e) => Object.keys(e.byType)))].sort();
  const rows = test.map((e) => `| ${e.model} | ${(e.accuracy * 100).toFixed(1)} | ${types.map((t) => (e.byType[t] !== undefined ? (e.byType[t] * 100).toFixed(1) : '-')).join(' | ')} |`);
  return [`| model | test acc % | ${types.join(' | ')} |`, `|---|---|${types.map(() => '---').join('|')}|`, ...rows].join('\n');
}

export async function demoCommand(dir: string, preset: string, backend?: BackendName): Promise<number> {
  const d = resolve(dir);
  const file = join(d, EXPERIMENT_FILE);
  if (!existsSync(file)) {
    mkdirSync(d, { recursive: true });
    writeFileSync(file, JSON.stringify({ preset, name: `demo (${preset})` }, null, 2) + '\n', { flag: 'wx' });
    process.stderr.write(`wrote ${file}\n`);
  } else {
    process.stderr.write(`using existing ${file} (a new run folder is created; earlier runs are kept)\n`);
  }
  const code = await runCommand({ experiment: file, backend, json: false });
  const run = listRuns(d)[0];
  if (run) {
    const { rows } = readJsonl<EvalLine>(join(run.dir, 'eval.jsonl'));
    process.stdout.write(`\nTest accuracy (run ${run.runId}, ${run.dir}):\n${comparisonTable(rows)}\n`);
    const acc = Object.fromEntries(rows.filter((r) => r.split === 'test').map((r) => [r.model, r.accuracy]));
    if (acc.teacher !== undefined && acc.baseline !== undefined && acc.kd !== undefined) {
      const gap = acc.teacher - acc.baseline;
      const closed = gap > 0 ? ((acc.kd - acc.baseline) / gap) * 100 : NaN;
      process.stdout.write(`\nLLaVA-KD vs baseline: ${((acc.kd - acc.baseline) * 100).toFixed(1)} points; teacher-student gap closed: ${Number.isFinite(closed) ? closed.toFixed(0) + '%' : 'n/a'}\n`);
    }
  }
  return code;
}
