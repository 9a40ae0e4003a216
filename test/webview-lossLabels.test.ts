// Tests of media/lib/lossLabels.ts: the legend formulas with their weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtWeight, termLabel } from '../media/lib/lossLabels';

test('labels follow the spec example', () => {
  assert.equal(termLabel('vis', 'forward_kl', 1), 'L_vis = mean_visual KL(p_T‖p_S) · β=1');
  assert.equal(termLabel('res', 'forward_kl', 1), 'L_res = mean_resp KL(p_T‖p_S) · α=1');
  assert.equal(termLabel('rel', 'forward_kl', 0.5), 'L_rel = 1 − cos(vec(Z_S Z_Sᵀ), vec(Z_T Z_Tᵀ)) · γ=0.5');
  assert.equal(termLabel('res', 'reverse_kl', 2), 'L_res = mean_resp KL(p_S‖p_T) · α=2');
  assert.equal(termLabel('ce', 'js', undefined), 'CE = mean_resp −log p_S(y)');
});

test('fmtWeight', () => {
  assert.equal(fmtWeight(0.5), '0.5');
  assert.equal(fmtWeight(2e-5), '2e-5');
  assert.equal(fmtWeight(1 / 3), '0.3333');
});

test('term explanations: every term has one; the MDist ones name the configured divergence', async () => {
  const { termExplanation } = await import('../media/lib/lossLabels');
  for (const t of ['ce', 'res', 'vis', 'rel', 'task'] as const) assert.ok(termExplanation(t, 'forward_kl').length > 40, t);
  assert.match(termExplanation('res', 'forward_kl'), /forward KL/);
  assert.match(termExplanation('vis', 'js'), /Jensen-Shannon/);
  assert.doesNotMatch(termExplanation('ce', 'js'), /Jensen/);
  assert.match(termExplanation('rel', 'forward_kl'), /at most 2/);
});
