// Tests of src/host/core/sweepEngine.ts: finding sbatch on PATH (real files in a temp dir) and the
// engine decision for each value of llavaKd.sweepEngine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NO_SBATCH, decideEngine, findOnPath } from '../src/host/core/sweepEngine';

const isExecutable = (f: string): boolean => {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
};

test('findOnPath: the first executable file of that name along PATH', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-path-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const [a, b, c] = ['a', 'b', 'c'].map((d) => fs.mkdirSync(path.join(root, d), { recursive: true }) ?? path.join(root, d));
  fs.writeFileSync(path.join(a, 'sbatch'), 'not executable', { mode: 0o644 });
  fs.mkdirSync(path.join(b, 'sbatch'));
  fs.writeFileSync(path.join(c, 'sbatch'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(findOnPath('sbatch', [a, b, c].join(':'), isExecutable, 'linux'), path.join(c, 'sbatch'), 'a plain file and a folder are skipped');
  assert.equal(findOnPath('sbatch', [a, b].join(':'), isExecutable, 'linux'), undefined);
  assert.equal(findOnPath('sbatch', undefined, isExecutable, 'linux'), undefined);
  // Windows: ';' between folders and the PATHEXT extensions.
  const seen: string[] = [];
  assert.equal(findOnPath('sbatch', 'C:\\x;C:\\y', (f) => (seen.push(f), f === 'C:\\y\\sbatch.EXE'), 'win32', '.EXE;.CMD'), 'C:\\y\\sbatch.EXE');
  assert.deepEqual(seen, ['C:\\x\\sbatch', 'C:\\x\\sbatch.EXE', 'C:\\x\\sbatch.CMD', 'C:\\y\\sbatch', 'C:\\y\\sbatch.EXE']);
});

test('engine: a set engine is used; "slurm" without sbatch is refused with the reason', () => {
  assert.deepEqual(decideEngine('local', undefined), { kind: 'use', engine: 'local' });
  assert.deepEqual(decideEngine('local', '/usr/bin/sbatch'), { kind: 'use', engine: 'local' });
  assert.deepEqual(decideEngine('slurm', '/usr/bin/sbatch'), { kind: 'use', engine: 'slurm' });
  assert.deepEqual(decideEngine('slurm', undefined), { kind: 'refuse', message: `llavaKd.sweepEngine is "slurm", but ${NO_SBATCH}.` });
});

test('engine "ask": Slurm offered only with sbatch, else the pick says why it is not', () => {
  const withS = decideEngine('ask', '/opt/slurm/bin/sbatch');
  assert.equal(withS.kind, 'ask');
  if (withS.kind !== 'ask') return;
  assert.deepEqual(withS.choices.map((c) => c.engine), ['local', 'slurm']);
  assert.match(withS.choices[1].detail, /\/opt\/slurm\/bin\/sbatch/);
  assert.doesNotMatch(withS.placeHolder, /not offered/);
  const without = decideEngine(undefined, undefined);
  assert.equal(without.kind, 'ask', 'no setting: ask');
  if (without.kind !== 'ask') return;
  assert.deepEqual(without.choices.map((c) => c.engine), ['local']);
  assert.match(without.placeHolder, /Slurm not offered: sbatch is not on the PATH of the extension host; on a cluster, open the folder with Remote-SSH on a login node/);
});
