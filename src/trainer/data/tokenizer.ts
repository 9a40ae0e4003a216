/**
 * KdTokenizer: a thin wrapper over `@huggingface/tokenizers` loading a Hugging Face
 * tokenizer.json (the world's WordPiece word-level one, or a real BPE/Unigram one) and exposing
 * the ids the trainer needs (pad, eos, `<image>`). A `tokenizer_config.json` next to the file is
 * read when present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** Model types @huggingface/tokenizers 0.2 implements (WordLevel is not one of them). */
const SUPPORTED_MODELS = ['BPE', 'WordPiece', 'Unigram'];
const EOS_CANDIDATES = ['<eos>', '</s>', '<|endoftext|>', '<|im_end|>', '<|eot_id|>', '[SEP]'];
const PAD_CANDIDATES = ['<pad>', '[PAD]', '<|pad|>'];

const readJson = (path: string, what: string): Record<string, unknown> => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: ${what} not found` : `${path}: cannot read ${what} (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: ${what} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${path}: ${what} must be a JSON object`);
  return data as Record<string, unknown>;
};

/** Token content of a tokenizer_config.json entry (string or {content}). */
const tokenName = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;

export class KdTokenizer {
  /** Number of embedding rows needed: max token id + 1 (added tokens included). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  readonly bosId: number | undefined;
  private readonly imageIdOrUndefined: number | undefined;

  private constructor(
    private readonly tok: Tokenizer,
    /** File the tokenizer was loaded from (used in error messages). */
    readonly path: string,
    config: Record<string, unknown>,
  ) {
    let maxId = -1;
    for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const find = (names: (string | undefined)[]): number | undefined => {
      for (const n of names) {
        const id = n === undefined ? undefined : tok.token_to_id(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    const eos = find([tokenName(config.eos_token), ...EOS_CANDIDATES]);
    if (eos === undefined) throw new Error(`${path}: tokenizer has no end-of-sequence token (looked for eos_token in tokenizer_config.json and ${EOS_CANDIDATES.join(', ')})`);
    this.eosId = eos;
    this.padId = find([tokenName(config.pad_token), ...PAD_CANDIDATES]) ?? eos;
    this.bosId = find([tokenName(config.bos_token), '<bos>', '<s>']);
    this.imageIdOrUndefined = tok.token_to_id('<image>');
  }

  /** Loads a Hugging Face tokenizer.json (and tokenizer_config.json beside it, if any). */
  static fromFile(path: string): KdTokenizer {
    const json = readJson(path, 'tokenizer file');
    const model = json.model as Record<string, unknown> | undefined;
    if (typeof model !== 'object' || model === null) throw new Error(`${path}: tokenizer file has no "model" object (expected a Hugging Face tokenizer.json)`);
    if (!SUPPORTED_MODELS.includes(String(model.type))) {
      throw new Error(
        `${path}: unsupported tokenizer model type ${JSON.stringify(model.type)}; expected one of ${SUPPORTED_MODELS.join(', ')} (a word-level vocabulary can be written as WordPiece)`,
      );
    }
    const vocab = model.vocab;
    if (typeof vocab !== 'object' || vocab === null || (model.type !== 'Unigram' && Array.isArray(vocab))) {
      throw new Error(`${path}: tokenizer field "model.vocab" must be ${model.type === 'Unigram' ? 'an array of [token, score] pairs' : 'an object mapping each token to its id'}, found ${vocab === undefined ? 'nothing' : Array.isArray(vocab) ? 'an array' : typeof vocab}`);
    }
    if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) throw new Error(`${path}: tokenizer field "added_tokens" must be an array of {id, content, special}, found ${typeof json.added_tokens}`);
    const withDefaults = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json };
    const cfgPath = join(dirname(path), 'tokenizer_config.json');
    const config = existsSync(cfgPath) ? readJson(cfgPath, 'tokenizer config') : {};
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(withDefaults, config);
      tok.encode('a', { add_special_tokens: false });
    } catch (e) {
      throw new Error(`${path}: unsupported or invalid tokenizer (${(e as Error).message})`);
    }
    return new KdTokenizer(tok, path, config);
  }

  /** Id of the `<image>` placeholder token. */
  get imageId(): number {
    if (this.imageIdOrUndefined === undefined) throw new Error(`${this.path}: tokenizer has no "<image>" token (add it to added_tokens as a special token)`);
    return this.imageIdOrUndefined;
  }

  /** Whether the tokenizer has an `<image>` token. */
  get hasImageToken(): boolean {
    return this.imageIdOrUndefined !== undefined;
  }

  /** Token ids of `text`, without any special tokens added (ones written in the text stay). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids`, special tokens skipped, tokenization spaces cleaned. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.tok.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: true }).trim();
  }

  /** Id of a token string, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}
