/**
 * The trainer never loads JavaScript from the working folder or its parents: a native backend
 * package planted in a parent's node_modules (which writes a file when loaded) is not loaded by
 * `run` under the default backend `auto`; the run uses wasm and says where it looked.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTmp, explain, readJson, runCli, runDirs, tmpDir, writeExperiment } from './helpers/cli';
import type { RunStatus } from '../src/common/runFormat';

after(cleanupTmp);

test('a tfjs-node-gpu planted in a parent of the working folder is never loaded', { timeout: 120_000 }, async () => {
  const root = tmpDir('planted');
  const marker = path.join(root, 'PLANTED-CODE-RAN');
  for (const pkg of ['tfjs-node-gpu', 'tfjs-node']) {
    const dir = path.join(root, 'node_modules', '@tensorflow', pkg);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `@tensorflow/${pkg}`, version: '4.22.0', main: 'index.js' }));
    fs.writeFileSync(path.join(dir, 'index.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, ${JSON.stringify(pkg)});\n`);
  }
  const exp = path.join(root, 'work', 'exp');
  writeExperiment(exp, { preset: 'tiny' });
  const r = await runCli(['run', path.join(exp, 'kd-experiment.json'), '--stages', 'vision/vision'], { cwd: exp, timeoutMs: 110_000 });
  assert.equal(r.code, 0, explain(r));
  assert.equal(fs.existsSync(marker), false, `planted code ran (${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''})`);
  const st = readJson<RunStatus>(path.join(runDirs(exp)[0], 'status.json'));
  assert.equal(st.backend, 'wasm');
  assert.doesNotMatch(r.stderr, new RegExp(path.join(root, 'node_modules').replace(/[/\\]/g, '.')), 'the planted folder is not even looked at');
});
