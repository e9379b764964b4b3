import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic, type ChatMessage, type TextTokenizer } from "@birdvlm/core";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";

type Json = Record<string, unknown>;

/** Tokens that end an assistant turn, in the order they are looked for. */
const STOP_TOKENS = ["<|end|>", "<|endoftext|>"];

/** A special token of `tokenizer_config.json`: a string, or an `AddedToken` object with `content`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Json).content === "string") return (v as Json).content as string;
  return undefined;
}

/** The `chat_template` of a config: a string, or a list of named templates (the `default` one is taken). */
function chatTemplateOf(config: Json, where: string): string | undefined {
  const t = config.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const named = t as Array<{ name?: string; template?: string }>;
    return (named.find((x) => x.name === "default") ?? named[0])?.template;
  }
  throw new Error(`${where}: chat_template must be a string or a list of { name, template }`);
}

async function readJson(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * The Phi-3 tokenizer (or any tokenizer that `@huggingface/tokenizers` reads from a `tokenizer.json`: BPE,
 * WordLevel, ...), with the chat template of its `tokenizer_config.json` rendered by `@huggingface/jinja`.
 */
export class Phi3Tokenizer implements TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template | undefined;
  readonly vocabSize: number;
  readonly stopTokenIds: number[];
  /** Special tokens the template sees (`bos_token`, `eos_token`, ...). */
  readonly specialTokens: Record<string, string>;

  /** From the parsed `tokenizer.json` and `tokenizer_config.json` objects. */
  constructor(
    readonly tokenizerJson: Json,
    readonly tokenizerConfig: Json,
    where = "tokenizer",
  ) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new Error(`${where}: @huggingface/tokenizers cannot read it (${(e as Error).message})`);
    }
    const template = chatTemplateOf(tokenizerConfig, where);
    this.template = template === undefined ? undefined : new Template(template);
    this.specialTokens = {};
    for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
      const t = tokenText(tokenizerConfig[key]);
      if (t !== undefined) this.specialTokens[key] = t;
    }
    const vocab = this.tokenizer.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const stops = STOP_TOKENS.map((t) => this.tokenToId(t)).filter((id): id is number => id !== undefined);
    const eos = this.specialTokens.eos_token === undefined ? undefined : this.tokenToId(this.specialTokens.eos_token);
    if (eos !== undefined && !stops.includes(eos)) stops.push(eos);
    this.stopTokenIds = stops;
  }

  /** Reads `tokenizer.json` and `tokenizer_config.json` from `dir`. */
  static async load(dir: string): Promise<Phi3Tokenizer> {
    const json = await readJson(join(dir, "tokenizer.json"));
    const config = await readJson(join(dir, "tokenizer_config.json"));
    return new Phi3Tokenizer(json, config, dir);
  }

  /** Text → ids (special tokens written in the text, like `<|user|>`, become their ids). */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Ids → text; `skipSpecialTokens` drops `<|end|>` and the like. */
  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.tokenizer.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** Renders the config's own `chat_template` for `messages`. */
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.template) throw new Error("Phi3Tokenizer: tokenizer_config.json has no chat_template");
    return this.template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      ...this.specialTokens,
    });
  }

  /** Id of a token (vocabulary or added token), or `undefined`. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token) ?? undefined;
  }

  /** The token of an id, or `undefined`. */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id) ?? undefined;
  }

  /** Writes `tokenizer.json` + `tokenizer_config.json` into `dir` (each atomically). */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeJsonAtomic(join(dir, "tokenizer.json"), this.tokenizerJson);
    await writeJsonAtomic(join(dir, "tokenizer_config.json"), this.tokenizerConfig);
  }
}
