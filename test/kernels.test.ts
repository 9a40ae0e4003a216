/**
 * The committed WebAssembly of the kernel modules (src/trainer/nn/attentionWasm.generated.ts,
 * src/trainer/losses/rowLossesWasm.generated.ts)
 * is what kernels/attention.ts and kernels/rowLosses.ts compile to: a fresh `npm run build:kernels -- --check` must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

test('the committed kernel modules (attention, row losses) match a fresh AssemblyScript compile', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build-kernels.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /matches kernels\/attention\.ts/);
  assert.match(r.stdout, /matches kernels\/rowLosses\.ts/);
});
