/**
 * Evaluation: greedy answers to single-question samples (batched, full re-forward per new token:
 * answers are a few tokens) and exact-match accuracy, overall and per question type.
 */
import * as tf from '@tensorflow/tfjs';
import { isCorrect } from '../data/answers';
import type { LlavaSample } from '../data/llava';
import { encodeConversation } from '../data/encode';
import { buildBatch, disposeBatch } from '../models/batch';
import type { EncodedSample } from '../data/encodedSample';
import type { Mllm } from '../models/mllm';
import type { VisionEncoder } from '../models/vision';
import type { DataBundle } from './data';

export interface Answer {
  sample: LlavaSample;
  question: string;
  truth: string;
  answer: string;
  correct: boolean;
}

export interface EvalResult {
  accuracy: number;
  byType: Record<string, number>;
  n: number;
  /** In-distribution vs held-out-combination accuracy, when the samples carry `heldOut`. */
  byDistribution?: { inDist: number; nInDist: number; heldOut: number; nHeldOut: number };
  answers: Answer[];
}

/** Question and ground truth of the first turn of a sample. */
export function firstQa(s: LlavaSample): { question: string; truth: string } {
  const q = s.conversations.find((c) => c.from === 'human')?.value ?? '';
  const a = s.conversations.find((c) => c.from === 'gpt')?.value ?? '';
  return { question: q.replace('<image>', '').trim(), truth: a };
}

/**
 * Greedy decoding of the first question of each sample.
 * @returns decoded answers, in order
 */
export function generateAnswers(model: Mllm, vision: VisionEncoder, data: DataBundle, samples: LlavaSample[], maxNewTokens: number, batchSize = 32): string[] {
  const out: string[] = [];
  const eos = data.tokenizer.eosId;
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const prompts: EncodedSample[] = chunk.map((s) => data.withPatches(encodeConversation(s, { ...data.encodeOptions, maxLength: 1 << 20 }, 0), s));
    const generated: number[][] = chunk.map(() => []);
    const done = chunk.map(() => false);
    let feats: tf.Tensor3D | null = null;
    for (let t = 0; t < maxNewTokens && done.some((d) => !d); t++) {
      const cur = prompts.map((p, b) => ({ ...p, tokens: [...p.tokens, ...generated[b]], isLabel: new Uint8Array(p.tokens.length + generated[b].length) }));
      const batch = buildBatch(cur, data.np, data.patchDim, data.tokenizer.padId);
      if (!feats && batch.patches) feats = tf.tidy(() => vision.forward(batch.patches!));
      const last = tf.tensor1d(cur.map((_, b) => batch.seqStarts[b + 1] - 1), 'int32'); // each prompt's last packed row
      // Read after the tidy: a typed array returned from tf.tidy is walked element by element as a tensor container.
      const nextT = tf.tidy(() => tf.argMax(model.logitsAt(batch, feats, last), 1));
      const next = nextT.dataSync() as Int32Array;
      nextT.dispose();
      last.dispose();
      disposeBatch(batch);
      next.forEach((id, b) => {
        if (done[b]) return;
        if (id === eos) done[b] = true;
        else generated[b].push(id);
      });
    }
    if (feats) feats.dispose();
    for (const g of generated) out.push(data.tokenizer.decode(g));
  }
  return out;
}

export function evaluate(model: Mllm, vision: VisionEncoder, data: DataBundle, samples: LlavaSample[], maxNewTokens: number): EvalResult {
  const answers = generateAnswers(model, vision, data, samples, maxNewTokens);
  const res: Answer[] = samples.map((s, i) => {
    const { question, truth } = firstQa(s);
    return { sample: s, question, truth, answer: answers[i], correct: isCorrect(answers[i], truth) };
  });
  const byTypeCount: Record<string, [number, number]> = {};
  for (const a of res) {
    const t = a.sample.type ?? 'other';
    byTypeCount[t] ??= [0, 0];
    byTypeCount[t][0] += a.correct ? 1 : 0;
    byTypeCount[t][1]++;
  }
  const byType: Record<string, number> = {};
  for (const [t, [c, n]] of Object.entries(byTypeCount)) byType[t] = c / n;
  const correct = res.filter((a) => a.correct).length;
  const out: EvalResult = { accuracy: res.length ? correct / res.length : 0, byType, n: res.length, answers: res };
  if (res.some((a) => a.sample.heldOut !== undefined)) {
    const part = (held: boolean) => res.filter((a) => !!a.sample.heldOut === held);
    const acc = (xs: Answer[]) => (xs.length ? xs.filter((a) => a.correct).length / xs.length : 0);
    out.byDistribution = { inDist: acc(part(false)), nInDist: part(false).length, heldOut: acc(part(true)), nHeldOut: part(true).length };
  }
  return out;
}
