/**
 * Builds a word-level tokenizer in Hugging Face tokenizer.json format from a set of texts.
 * The model is WordPiece (the JS tokenizers library has no WordLevel model): every word is a
 * whole-word token, and every character also exists as `c` and `##c`, so unseen words still
 * encode without <unk>. Normalizer Lowercase, pre-tokenizer BertPreTokenizer (punctuation
 * splits), decoder WordPiece.
 */

/** Special tokens with fixed ids (`<pad>` must be 0). */
export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<bos>', '<eos>', '<image>'] as const;

/** Same word/punctuation split as BertPreTokenizer in @huggingface/tokenizers. */
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const WORD_SPLIT = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');

/** Always present: ASCII letters, digits and punctuation as single characters. */
const BASE_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.,?!:;\'"()[]-/+*=%&#@_<>';

/** Words of a text as the tokenizer will see them (special tokens removed, lowercased). */
export function splitWords(text: string): string[] {
  let t = text;
  for (const s of SPECIAL_TOKENS) t = t.split(s).join(' ');
  return t.toLowerCase().match(WORD_SPLIT) ?? [];
}

/** tokenizer.json object for the given texts (deterministic: words sorted). */
export function buildTokenizerJson(texts: Iterable<string>): Record<string, unknown> {
  const words = new Set<string>();
  const chars = new Set<string>(BASE_CHARS);
  for (const text of texts) {
    for (const w of splitWords(text)) {
      words.add(w);
      for (const c of w) chars.add(c);
    }
  }
  const vocab: Record<string, number> = {};
  let next = 0;
  const add = (tok: string): void => {
    if (!(tok in vocab)) vocab[tok] = next++;
  };
  SPECIAL_TOKENS.forEach(add);
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  [...words].sort(cmp).forEach(add);
  const sortedChars = [...chars].sort(cmp);
  sortedChars.forEach(add);
  sortedChars.forEach((c) => add(`##${c}`));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '<unk>',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** tokenizer_config.json next to tokenizer.json (for Hugging Face tools). */
export const TOKENIZER_CONFIG = {
  tokenizer_class: 'PreTrainedTokenizerFast',
  bos_token: '<bos>',
  eos_token: '<eos>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  additional_special_tokens: ['<image>'],
  clean_up_tokenization_spaces: true,
  model_max_length: 4096,
};
