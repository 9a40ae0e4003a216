/**
 * Tokenises LLaVA-format samples with the chat templates of the method spec and cuts images
 * into ViT patches:
 *   pre-training  : [Np visual] caption <eos>                       (labels: caption + eos)
 *   instruction   : system USER: [Np visual]\n q ASSISTANT: a <eos> (labels: every answer + eos)
 *   text-only (LM pre-training): text <eos>                         (labels: every token)
 */
import type { EncodedSample } from './encodedSample';
import type { LlavaSample } from './llava';

/** The subset of the tokenizer this module needs. */
export interface TokenizerLike {
  encode(text: string): number[];
  padId: number;
  eosId: number;
}

export interface EncodeOptions {
  tokenizer: TokenizerLike;
  /** Visual tokens per image. */
  np: number;
  maxLength: number;
  systemPrompt: string;
}

const IMAGE = '<image>';

/** Splits `text` at `<image>` and appends its tokens; returns the visual start if an image slot was placed. */
function pushWithImage(out: number[], text: string, o: EncodeOptions, labels: number[] | null, visualStart: number): number {
  const parts = text.split(IMAGE);
  parts.forEach((part, i) => {
    if (i > 0) {
      if (visualStart >= 0) throw new Error('more than one <image> in a sample is not supported');
      visualStart = out.length;
      for (let j = 0; j < o.np; j++) out.push(o.tokenizer.padId);
    }
    const t = part.trim() ? o.tokenizer.encode(part) : [];
    out.push(...t);
  });
  if (labels) while (labels.length < out.length) labels.push(0);
  return visualStart;
}

function finish(id: string, tokens: number[], labels: number[], visualStart: number, o: EncodeOptions): EncodedSample {
  if (tokens.length > o.maxLength) {
    if (visualStart >= 0 && visualStart + o.np > o.maxLength) {
      throw new Error(`sample ${id}: the ${o.np} visual tokens do not fit in data.maxLength = ${o.maxLength}`);
    }
    tokens = tokens.slice(0, o.maxLength);
    labels = labels.slice(0, o.maxLength);
  }
  return { id, tokens, visualStart, isLabel: Uint8Array.from(labels) };
}

/** Caption sample (first gpt turn is the caption). */
export function encodeCaption(s: LlavaSample, o: EncodeOptions): EncodedSample {
  const tokens: number[] = [];
  const labels: number[] = [];
  const human = s.conversations.find((c) => c.from === 'human')?.value ?? IMAGE;
  let vs = pushWithImage(tokens, s.image && !human.includes(IMAGE) ? IMAGE + human : human, o, labels, -1);
  const cap = s.conversations.find((c) => c.from === 'gpt')?.value ?? '';
  for (const t of o.tokenizer.encode(cap)) { tokens.push(t); labels.push(1); }
  tokens.push(o.tokenizer.eosId); labels.push(1);
  if (!s.image) vs = -1;
  return finish(s.id, tokens, labels, vs, o);
}

/**
 * Instruction conversation. With `promptOnlyTurn` = k, stops after the `ASSISTANT:` of turn k
 * (a generation prompt) and returns no labels.
 */
export function encodeConversation(s: LlavaSample, o: EncodeOptions, promptOnlyTurn = -1): EncodedSample {
  const tokens: number[] = [];
  const labels: number[] = [];
  const tk = o.tokenizer;
  const push = (ids: number[], isLabel: number) => { for (const t of ids) { tokens.push(t); labels.push(isLabel); } };
  if (o.systemPrompt) push(tk.encode(o.systemPrompt), 0);
  let vs = -1;
  let turn = 0;
  for (let i = 0; i < s.conversations.length; i++) {
    const c = s.conversations[i];
    if (c.from === 'human') {
      push(tk.encode('USER:'), 0);
      let text = c.value;
      if (turn === 0 && s.image && !text.includes(IMAGE)) text = IMAGE + '\n' + text;
      vs = pushWithImage(tokens, text, o, labels, vs);
      push(tk.encode('ASSISTANT:'), 0);
      if (turn === promptOnlyTurn) break;
    } else {
      push(tk.encode(c.value), 1);
      push([tk.eosId], 1);
      turn++;
    }
  }
  if (!s.image) vs = -1;
  return finish(s.id, tokens, labels, vs, o);
}

/** Text-only sample for LM pre-training: all tokens are labels. */
export function encodeText(id: string, text: string, o: EncodeOptions): EncodedSample {
  const tokens = [...o.tokenizer.encode(text), o.tokenizer.eosId];
  return finish(id, tokens, tokens.map(() => 1), -1, o);
}

/**
 * Cuts an HWC RGB image into row-major ViT patches.
 * @param img Float32Array [size·size·3]
 * @returns Float32Array [Np · patch²·3], patch-major, inside a patch (y, x, channel)
 */
export function patchify(img: Float32Array, size: number, patch: number): Float32Array {
  const g = size / patch;
  const pd = patch * patch * 3;
  const out = new Float32Array(g * g * pd);
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      const base = (gy * g + gx) * pd;
      for (let y = 0; y < patch; y++) {
        const row = ((gy * patch + y) * size + gx * patch) * 3;
        out.set(img.subarray(row, row + patch * 3), base + y * patch * 3);
      }
    }
  }
  return out;
}
