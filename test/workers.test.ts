/**
 * Data-parallel training threads (src/trainer/train/stepPool.ts): a run with 2 workers gives the
 * losses of the single-thread run within float tolerance at every logged step (teacher track,
 * 50 SFT steps), and two runs with 2 workers are identical (deterministic).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { MetricsLine } from '../src/common/runFormat';
import { cleanupTmp, explain, readJsonlStrict, runCli, runDirs, tmpDir, writeExperiment } from './helpers/cli';

after(cleanupTmp);

async function losses(root: string, name: string, workers: number): Promise<{ map: Map<string, number>; log: string }> {
  const dir = path.join(root, name);
  writeExperiment(dir, { preset: 'tiny', workers, data: { worldDir: '../world' }, teacher: { stages: { sft: { steps: 50, logEvery: 1, evalEvery: 100 } } } });
  const r = await runCli(['run', path.join(dir, 'kd-experiment.json'), '--stages', 'pretrain,teacher'], { timeoutMs: 200_000 });
  assert.equal(r.code, 0, explain(r));
  const lines = readJsonlStrict<MetricsLine>(path.join(runDirs(dir)[0], 'metrics.jsonl'));
  return { map: new Map(lines.map((l) => [`${l.stage}@${l.step}`, l.loss.total])), log: r.stderr };
}

test('2 training threads: the single-thread losses within 1e-5 relative over every logged step; deterministic', { timeout: 600_000 }, async () => {
  const root = tmpDir('workers');
  const one = await losses(root, 'one', 1);
  const two = await losses(root, 'two', 2);
  const again = await losses(root, 'again', 2);
  assert.match(two.log, /stage teacher\/sft: 2 training threads/);
  assert.doesNotMatch(one.log, /training threads/);
  assert.deepEqual([...two.map.keys()], [...one.map.keys()]);
  assert.ok(one.map.size >= 50, `${one.map.size} logged steps`);
  for (const [k, v] of one.map) {
    const w = two.map.get(k)!;
    assert.ok(Math.abs(w - v) <= 1e-5 * Math.abs(v), `${k}: 1 thread ${v}, 2 threads ${w}`);
  }
  assert.deepEqual([...again.map], [...two.map], 'two runs with 2 threads are identical');
});
