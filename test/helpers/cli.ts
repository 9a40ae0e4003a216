/**
 * Helpers of the trainer's integration tests: temp experiment folders, spawning the built CLI
 * (`dist/cli.js`) and collecting its JSON events, reading run folders, hashing files and
 * comparing checkpoint tensors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainerEvent } from '../../src/common/runFormat';
import { readSafetensors } from '../../src/trainer/io/safetensors';

export const REPO = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO, 'dist', 'cli.js');

/** Fails early, with the fix, when the bundle was not built. */
export function assertBuilt(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} not found: run \`npm run build\` first`);
}

const made: string[] = [];

/** A fresh folder under os.tmpdir(); removed by `cleanupTmp()` unless KEEP_TEST_DIRS is set. */
export function tmpDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `llava-kd-${prefix}-`));
  made.push(d);
  return d;
}

// Spawned trainers inherit this: their teacher-output caches go to a temp folder, not ~/.cache.
if (!process.env.LLAVA_KD_CACHE_DIR) {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-test-cache-'));
  process.env.LLAVA_KD_CACHE_DIR = cache;
  process.on('exit', () => fs.rmSync(cache, { recursive: true, force: true }));
}

export function cleanupTmp(): void {
  if (process.env.KEEP_TEST_DIRS) return;
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Writes `<dir>/kd-experiment.json` holding `exp` (a diff over a preset); returns its path. */
export function writeExperiment(dir: string, exp: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'kd-experiment.json');
  fs.writeFileSync(file, typeof exp === 'string' ? exp : JSON.stringify(exp, null, 2) + '\n');
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout lines parsed as JSON (lines that are not JSON throw in `parseEvents`). */
  lines: string[];
}

export interface CliOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Extra environment variables of the child (over this process's). */
  env?: Record<string, string>;
  /** Called for each complete stdout line that parses as JSON, with the child (to signal it). */
  onEvent?: (e: TrainerEvent, child: ChildProcess) => void;
}

/** Spawns `node dist/cli.js ...args` and resolves when it exits. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ? { ...process.env, ...opts.env } : process.env });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llava-kd ${args.join(' ')}: timed out after ${opts.timeoutMs ?? 120000} ms\nstderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 120000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (!opts.onEvent) return;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let e: TrainerEvent | undefined;
        try { e = JSON.parse(line) as TrainerEvent; } catch { e = undefined; }
        if (e) opts.onEvent(e, child);
      }
    });
    child.stderr.on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, lines: stdout.split('\n').filter((l) => l.length > 0) });
    });
  });
}

/** Parses every stdout line as a JSON event; throws naming the first line that is not JSON. */
export function parseEvents(r: CliResult): TrainerEvent[] {
  return r.lines.map((l, i) => {
    try {
      return JSON.parse(l) as TrainerEvent;
    } catch {
      throw new Error(`stdout line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
    }
  });
}

/** Short description of a CLI result for assertion messages. */
export function explain(r: CliResult): string {
  return `exit ${r.code} signal ${r.signal}\nstdout tail: ${r.stdout.slice(-1500)}\nstderr tail: ${r.stderr.slice(-1500)}`;
}

/** Run folders under `<expDir>/runs`, oldest first (run ids sort by time, then random suffix). */
export function runDirs(expDir: string): string[] {
  const runs = path.join(expDir, 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs.readdirSync(runs).sort().map((n) => path.join(runs, n));
}

/** Strict jsonl reader: every non-empty line must parse. */
export function readJsonlStrict<T>(file: string): T[] {
  const text = fs.readFileSync(file, 'utf8');
  return text.split('\n').filter((l) => l.length > 0).map((l, i) => {
    try {
      return JSON.parse(l) as T;
    } catch (e) {
      throw new Error(`${file}: line ${i + 1} is not JSON (${(e as Error).message}): ${l.slice(0, 200)}`);
    }
  });
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 of every file under `dir`, keyed by relative path. */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = sha256(p);
    }
  };
  walk(dir);
  return out;
}

/** Tensors of a safetensors file as raw bytes (bit-exact comparison), keyed by name. */
export function tensorBytes(file: string): Map<string, Buffer> {
  const f = readSafetensors(file);
  const out = new Map<string, Buffer>();
  for (const [n, t] of Object.entries(f.tensors)) out.set(n, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return out;
}

/** Names with `prefix` whose bytes are equal / different between two tensor maps (both must hold the same names). */
export function compareGroup(a: Map<string, Buffer>, b: Map<string, Buffer>, prefix: string): { same: string[]; differ: string[] } {
  const names = [...a.keys()].filter((n) => n.startsWith(prefix)).sort();
  const namesB = [...b.keys()].filter((n) => n.startsWith(prefix)).sort();
  if (names.join(',') !== namesB.join(',')) throw new Error(`tensor names under '${prefix}' differ: [${names}] vs [${namesB}]`);
  if (!names.length) throw new Error(`no tensors under '${prefix}'`);
  const same: string[] = [];
  const differ: string[] = [];
  for (const n of names) (a.get(n)!.equals(b.get(n)!) ? same : differ).push(n);
  return { same, differ };
}

/** Relative difference |a − b| / max(|a|, |b|, 1e-12). */
export function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
}
