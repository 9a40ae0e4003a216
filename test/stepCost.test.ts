/**
 * The step-work estimate behind `workers: 0` (auto): hand-computed FLOPs for a small config, and
 * the thread count auto gives each stage of the default preset (one thread for the small
 * student's steps, two for the teacher's and for an online teacher's distillation steps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../src/trainer/config';
import { fullPlan } from '../src/common/stagePlan';
import { AUTO_PARALLEL_GFLOP, resolveWorkers, stageStepGflop, stepGflop } from '../src/trainer/train/stepCost';

test('stepGflop: hand-computed FLOPs of a small config', () => {
  const lm = { dim: 8, layers: 2, heads: 2, mlpHidden: 16, ropeTheta: 1e4, tieEmbeddings: false, rmsEps: 1e-6 };
  const vision = { imageSize: 8, patchSize: 4, dim: 4, depth: 1, heads: 1, mlpRatio: 2, featureLayer: -1, pretrainHead: 'token' as const };
  const model = { lm, projector: { hidden: 6 } };
  // LM per token: 2·2·(4·64 + 3·8·16) + 2·8·10 = 4·640 + 160 = 2720; 3 batch × 5 tokens = 15 tokens.
  // Vision per image: 4 patches × (2·48·4 + 1·2·(4·16 + 2·16·2) + projector 2·(4·6 + 6·8)) = 4 × (384 + 256 + 144) = 3136;
  // the frozen encoder alone: 4 × (384 + 256) = 2560.
  const lmTok = 2720;
  const perImage = 3136;
  const frozen = 2560;
  const got = stepGflop({ trained: model, onlineTeacher: null, vision, vocab: 10, batchSize: 3, maxLength: 5 });
  assert.ok(Math.abs(got * 1e9 - (3 * (15 * lmTok + 3 * perImage) + 3 * frozen)) < 1e-3, `${got * 1e9}`);
  const withTeacher = stepGflop({ trained: model, onlineTeacher: model, vision, vocab: 10, batchSize: 3, maxLength: 5 });
  assert.ok(Math.abs((withTeacher - got) * 1e9 - (15 * lmTok + 3 * perImage)) < 1e-3);
});

test('auto workers: one thread for the default student steps, two for the teacher and an online teacher', () => {
  const cfg = presetConfig('default');
  const vocab = 189;
  const plan = fullPlan(cfg);
  const at = (id: string, online: boolean) => resolveWorkers(0, 2, stageStepGflop(cfg, plan.find((s) => s.id === id)!, vocab, online));
  for (const id of ['baseline/pt', 'baseline/sft', 'kd/sft']) assert.equal(at(id, false).n, 1, id);
  assert.equal(at('kd/dft', false).n, 1, 'DFT with the cached teacher');
  assert.equal(at('kd/dft', true).n, 2, 'DFT with the teacher online');
  assert.equal(at('teacher/sft', false).n, 2);
  assert.match(at('kd/sft', false).reason, new RegExp(`under the ${AUTO_PARALLEL_GFLOP}`));
  // A configured count is used as given; one core never gets two threads from auto.
  assert.equal(resolveWorkers(3, 2, 0.01).n, 3);
  assert.equal(resolveWorkers(0, 1, 100).n, 1);
  assert.equal(resolveWorkers(0, 16, 100).n, 2);
});
