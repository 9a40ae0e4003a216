/**
 * The committed WebAssembly of the fused attention kernels (src/trainer/nn/attentionWasm.generated.ts)
 * is what kernels/attention.ts compiles to: a fresh `npm run build:kernels -- --check` must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

test('the committed attention kernels match a fresh AssemblyScript compile', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build-kernels.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /matches kernels\/attention\.ts/);
});
