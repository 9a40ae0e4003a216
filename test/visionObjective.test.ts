/**
 * Vision pre-training objectives on a generated world: the per-token objective's labels are the
 * flat objective's, token by token, plus each token's cell index; every softmax group is one-hot;
 * the loss is the grouped cross-entropy (checked against a plain-JS computation).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/trainer/backend';
import { presetConfig } from '../src/trainer/config';
import { generateWorld, readWorldScenes } from '../src/trainer/data';
import { cellObjective, tokenObjective } from '../src/trainer/train/visionObjective';

let dir: string;
let ids: string[];

before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-vobj-'));
  generateWorld(presetConfig('tiny').data.world, dir);
  ids = readWorldScenes(dir).train.map((s) => s.id);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('token objective: flat labels per token + the cell index; one-hot groups; grouped CE', () => {
  const flat = cellObjective(dir, ids)!;
  const tok = tokenObjective(dir, ids)!;
  assert.equal(tok.head, 'token');
  assert.equal(flat.head, 'flat');
  const per = flat.outDim / 9;
  assert.equal(tok.outDim, per + 9);
  const idx = [0, 3, 7];
  const lf = flat.labels(idx).arraySync() as number[][];
  const lt = tok.labels(idx).arraySync() as number[][];
  assert.equal(lt.length, idx.length * 9);
  for (let r = 0; r < lt.length; r++) {
    const img = Math.floor(r / 9);
    const cell = r % 9;
    assert.deepEqual(lt[r].slice(0, per), lf[img].slice(cell * per, (cell + 1) * per), `row ${r}: the flat labels of its cell`);
    assert.deepEqual(lt[r].slice(per), Array.from({ length: 9 }, (_, c) => (c === cell ? 1 : 0)), `row ${r}: its cell index`);
  }
  // Loss: mean over rows and groups of −log softmax at the label, from plain JS.
  const groups = [8, 6, 3, 9];
  const logits = Array.from({ length: lt.length }, (_, r) => Array.from({ length: tok.outDim }, (_, j) => Math.sin(r * 7 + j)));
  let ref = 0;
  for (let r = 0; r < lt.length; r++) {
    let off = 0;
    for (const g of groups) {
      const z = logits[r].slice(off, off + g);
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
      ref += lse - z[lt[r].slice(off, off + g).indexOf(1)];
      off += g;
    }
  }
  ref /= lt.length * groups.length;
  const got = tf.tidy(() => tok.loss(tf.tensor2d(logits), tf.tensor2d(lt)).dataSync()[0]);
  assert.ok(Math.abs(got - ref) < 1e-5, `${got} vs ${ref}`);
});
