/**
 * Run folders (see src/common/runFormat.ts): `createRunDir` makes a fresh `<experiment>/runs/<runId>/`
 * that never reuses an existing folder, and `RunWriter` writes config.json, status.json (atomically),
 * the append-only jsonl files, train.log and checkpoint paths inside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EvalLine, MetricsLine, RunStatus, SampleLine } from '../../common/runFormat';
import { appendLine, appendText, writeFileAtomic } from '../../common/atomic';

/** File names inside a run folder. */
export const RUN_FILES = {
  config: 'config.json',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  eval: 'eval.jsonl',
  samples: 'samples.jsonl',
  log: 'train.log',
  checkpoints: 'checkpoints',
} as const;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Run id `YYYYMMDD-HHMMSS-xxxx` from local time `now` and 4 random hex digits. */
export function makeRunId(now: Date = new Date()): string {
  const d = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const t = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${d}-${t}-${randomBytes(2).toString('hex')}`;
}

/**
 * Create `<experimentDir>/runs/<runId>/` and its `checkpoints/` folder. The run folder itself is made
 * with a non-recursive mkdir, so an existing folder is never reused: on a clash a new id is drawn.
 * Returns the run id and the absolute run folder.
 */
export function createRunDir(experimentDir: string, now: Date = new Date()): { runId: string; dir: string } {
  const runsDir = path.resolve(experimentDir, 'runs');
  fs.mkdirSync(runsDir, { recursive: true });
  for (let attempt = 0; attempt < 100; attempt++) {
    const runId = makeRunId(now);
    const dir = path.join(runsDir, runId);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints));
    return { runId, dir };
  }
  throw new Error(`createRunDir: could not create a new run folder under ${runsDir} after 100 attempts (all ids taken?)`);
}

/**
 * Create `<experimentDir>/runs/<runId>/` for a given id (a sweep point's); an existing folder is an
 * error, never reused.
 */
export function createNamedRunDir(experimentDir: string, runId: string): { runId: string; dir: string } {
  const runsDir = path.resolve(experimentDir, 'runs');
  fs.mkdirSync(runsDir, { recursive: true });
  const dir = path.join(runsDir, runId);
  fs.mkdirSync(dir);
  fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints));
  return { runId, dir };
}

/** Writes the files of one run folder. Appends never truncate; status/config are replaced atomically. */
export class RunWriter {
  readonly dir: string;
  private last: RunStatus | undefined;

  /** `dir` must be an existing run folder (from `createRunDir`, or an old one when resuming). */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    if (!fs.statSync(this.dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`RunWriter: run folder ${this.dir} does not exist`);
    }
  }

  /** Absolute path of a file of this run (e.g. `file('metrics.jsonl')`). */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Write the fully resolved config as pretty JSON to config.json (atomic). */
  writeConfig(resolved: unknown): void {
    writeFileAtomic(this.file(RUN_FILES.config), JSON.stringify(resolved, null, 2) + '\n');
  }

  /** Replace status.json with `status` (atomic) and remember it for `updateStatus`. */
  writeStatus(status: RunStatus): void {
    writeFileAtomic(this.file(RUN_FILES.status), JSON.stringify(status, null, 2) + '\n');
    this.last = { ...status };
  }

  /**
   * Merge `patch` into the last status (the one written by this writer, else status.json on disk),
   * set `updatedAt` to now, write it atomically and return it.
   */
  updateStatus(patch: Partial<RunStatus>): RunStatus {
    const base = this.last ?? this.readStatusFromDisk();
    const next: RunStatus = { ...base, ...patch, updatedAt: new Date().toISOString() };
    this.writeStatus(next);
    return next;
  }

  /** The last status written (or undefined before the first write). */
  get status(): RunStatus | undefined {
    return this.last ? { ...this.last } : undefined;
  }

  private readStatusFromDisk(): RunStatus {
    const f = this.file(RUN_FILES.status);
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      throw new Error(`RunWriter.updateStatus: no status written yet and ${f} cannot be read; call writeStatus first`);
    }
    try {
      return JSON.parse(text) as RunStatus;
    } catch (e) {
      throw new Error(`RunWriter.updateStatus: ${f} is not valid JSON: ${(e as Error).message}`);
    }
  }

  appendMetrics(line: MetricsLine): void {
    appendLine(this.file(RUN_FILES.metrics), line);
  }

  appendEval(line: EvalLine): void {
    appendLine(this.file(RUN_FILES.eval), line);
  }

  appendSample(line: SampleLine): void {
    appendLine(this.file(RUN_FILES.samples), line);
  }

  /**
   * On resume: removes from metrics.jsonl, eval.jsonl and samples.jsonl the lines the resumed
   * process will write again (those `keep` rejects: steps after the resume checkpoint, stages
   * that had not finished), so no (stage, step) appears twice. Each file is replaced atomically;
   * lines that do not parse are kept, except a trailing partial line (a write cut by a crash).
   * @returns lines removed per file name
   */
  dropSupersededLines(keep: (line: { stage?: string; step?: number }) => boolean): Record<string, number> {
    const removed: Record<string, number> = {};
    for (const name of [RUN_FILES.metrics, RUN_FILES.eval, RUN_FILES.samples]) {
      const f = this.file(name);
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      const lines = text.split('\n');
      const partial = lines.pop() ?? '';
      const kept = lines.filter((l) => {
        try {
          return keep(JSON.parse(l) as { stage?: string; step?: number });
        } catch {
          return true;
        }
      });
      const n = lines.length - kept.length + (partial ? 1 : 0);
      if (n) {
        writeFileAtomic(f, kept.map((l) => l + '\n').join(''));
        removed[name] = n;
      }
    }
    return removed;
  }

  /** Append `message` to train.log, each of its lines prefixed with an ISO timestamp. */
  log(message: string): void {
    const ts = new Date().toISOString();
    const text = message.replace(/\r?\n$/, '').split(/\r?\n/).map((l) => `${ts} ${l}\n`).join('');
    appendText(this.file(RUN_FILES.log), text, { fsync: false });
  }

  /**
   * Absolute path of checkpoint `name` in checkpoints/, e.g. `checkpointPath('kd-dft')` ->
   * `<run>/checkpoints/kd-dft.safetensors` (`.safetensors` is added unless the name already ends in
   * `.safetensors` or `.json`). Rejects names with path separators.
   */
  checkpointPath(name: string): string {
    if (!name || /[\\/]/.test(name) || name === '.' || name === '..') {
      throw new Error(`RunWriter.checkpointPath: invalid checkpoint name ${JSON.stringify(name)} (expected a plain file name like "kd-dft")`);
    }
    const file = /\.(safetensors|json)$/.test(name) ? name : `${name}.safetensors`;
    return path.join(this.dir, RUN_FILES.checkpoints, file);
  }
}
