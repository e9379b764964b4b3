import { Tokenizer } from "@huggingface/tokenizers";
import { Phi3Tokenizer } from "./tokenizer.js";

/** Phi-3's chat template (as in Phi-3-mini's `tokenizer_config.json`). */
export const PHI3_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3's special tokens, the first ids of a word-level tokenizer by default. */
export const PHI3_SPECIAL_TOKENS = [
  "<unk>",
  "<s>",
  "<|endoftext|>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|end|>",
];

/** The mark a word carries when a space came before it (SentencePiece's "▁"), so that decoding restores spaces. */
const WORD_START = "\u2581";

/** Punctuation as the Rust `tokenizers` `Punctuation` pre-tokenizer sees it: ASCII punctuation and Unicode `P*`. */
const PUNCTUATION = "!-/:-@\\[-`{-~\\p{P}";

/** Options of `buildWordLevelTokenizer`. */
export interface WordLevelOptions {
  /** Special tokens, ids `0..n-1` in this order; must contain `unkToken`. Default `PHI3_SPECIAL_TOKENS`. */
  specialTokens?: string[];
  /** Extra special tokens appended after `specialTokens` (e.g. `<|image_pad|>`). */
  extraSpecialTokens?: string[];
  /** Jinja chat template written to `tokenizer_config.json`. Default `PHI3_CHAT_TEMPLATE`. */
  chatTemplate?: string;
  /** Lower-case the text first. Default `true`. */
  lowercase?: boolean;
  /** Words seen fewer times are left out (they encode as `unkToken`). Default 1. */
  minFrequency?: number;
  /** Largest vocabulary, special tokens included (most frequent words kept). Default: no limit. */
  maxVocabSize?: number;
  unkToken?: string;
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
}

/**
 * Fits a word-level tokenizer to `corpus` (Hugging Face `WordLevel` model; words are the
 * whitespace-separated pieces, with runs of punctuation split off; a word that follows a space carries a "▁" mark,
 * so `decode` puts spaces back only where they were: "black-capped curlew?" round-trips, while runs of
 * whitespace come back as one space) with Phi-3's special tokens and chat template, as a
 * `Phi3Tokenizer`; `save(dir)` writes `tokenizer.json` + `tokenizer_config.json` that both the Rust
 * `tokenizers` and `Phi3Tokenizer.load` read. Ids: special tokens first, then words by frequency (ties in
 * alphabetical order), so the same corpus gives the same tokenizer.
 */
export function buildWordLevelTokenizer(corpus: Iterable<string>, options: WordLevelOptions = {}): Phi3Tokenizer {
  const specials = [...(options.specialTokens ?? PHI3_SPECIAL_TOKENS), ...(options.extraSpecialTokens ?? [])];
  const unk = options.unkToken ?? "<unk>";
  const eos = options.eosToken ?? "<|endoftext|>";
  if (new Set(specials).size !== specials.length)
    throw new Error(`buildWordLevelTokenizer: duplicate special tokens in [${specials}]`);
  for (const [what, t] of [
    ["unkToken", unk],
    ["eosToken", eos],
  ] as const) {
    if (!specials.includes(t))
      throw new Error(`buildWordLevelTokenizer: ${what} '${t}' is not among the special tokens`);
  }
  const lowercase = options.lowercase ?? true;
  const addedTokens = specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const json = (vocab: Record<string, number>) => ({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: "Sequence",
      normalizers: [
        ...(lowercase ? [{ type: "Lowercase" }] : []),
        // Every run of whitespace becomes one word-start mark, and so does the start of the text (Llama's scheme).
        { type: "Replace", pattern: { Regex: "\\s+" }, content: WORD_START },
        { type: "Prepend", prepend: WORD_START },
      ],
    },
    // Words and punctuation runs carry the mark of the space before them ("▁black", "▁("); those right after
    // punctuation or a word ("capped" in "black-capped", "?" in "bird?") do not. A lone mark (the end) is dropped.
    pre_tokenizer: {
      type: "Split",
      pattern: { Regex: `${WORD_START}?(?:[^${WORD_START}${PUNCTUATION}]+|[${PUNCTUATION}]+)` },
      behavior: "Removed",
      invert: true,
    },
    post_processor: null,
    // Marks back to spaces, the first one dropped: "▁black - capped ▁curlew ?" → "black-capped curlew?".
    decoder: { type: "Metaspace", replacement: WORD_START, prepend_scheme: "always", split: false },
    model: { type: "WordLevel", vocab, unk_token: unk },
  });
  const specialVocab = Object.fromEntries(specials.map((s, i) => [s, i]));
  const splitter = new Tokenizer(json(specialVocab), { unk_token: unk });
  const counts = new Map<string, number>();
  for (const text of corpus) {
    const normalized = splitter.normalizer ? splitter.normalizer.normalize(text) : text;
    for (const word of splitter.pre_tokenizer!.pre_tokenize(normalized)) {
      if (!(word in specialVocab)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const minFrequency = options.minFrequency ?? 1;
  let words = [...counts]
    .filter(([, c]) => c >= minFrequency)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
  if (options.maxVocabSize !== undefined) words = words.slice(0, Math.max(0, options.maxVocabSize - specials.length));
  const vocab = { ...specialVocab };
  words.forEach((w, i) => (vocab[w] = specials.length + i));
  const config = {
    add_bos_token: false,
    add_eos_token: false,
    bos_token: options.bosToken ?? (specials.includes("<s>") ? "<s>" : null),
    eos_token: eos,
    pad_token: options.padToken ?? eos,
    unk_token: unk,
    chat_template: options.chatTemplate ?? PHI3_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
    tokenizer_class: "PreTrainedTokenizerFast",
    added_tokens_decoder: Object.fromEntries(
      addedTokens.map(({ id, ...t }) => [
        String(id),
        { content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
  };
  return new Phi3Tokenizer(json(vocab), config, "buildWordLevelTokenizer");
}
