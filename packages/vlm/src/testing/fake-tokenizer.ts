import type { ChatMessage, TextTokenizer } from "@birdvlm/core";

/**
 * Test double: a word-level tokenizer with Phi-3's chat template, special tokens `<|…|>` kept whole.
 * Used only where the real `Phi3Tokenizer` is not needed.
 */
export class FakeTokenizer implements TextTokenizer {
  private readonly vocab = new Map<string, number>();
  private readonly words: string[] = [];
  readonly specials = ["<unk>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "<|image_pad|>"];

  constructor(words: string[]) {
    for (const w of [...this.specials, ...words]) this.add(w);
  }

  private add(w: string): void {
    if (!this.vocab.has(w)) { this.vocab.set(w, this.words.length); this.words.push(w); }
  }

  get vocabSize(): number { return this.words.length; }
  get stopTokenIds(): number[] { return [this.vocab.get("<|end|>")!, this.vocab.get("<|endoftext|>")!]; }

  encode(text: string): number[] {
    const pieces = text.split(/(<\|[a-z_0-9]+\|>)/).flatMap((p) => (/^<\|[a-z_0-9]+\|>$/.test(p) ? [p] : p.match(/[\w]+|[^\w\s]/g) ?? []));
    return pieces.map((p) => this.vocab.get(p) ?? 0);
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return ids.map((i) => this.words[i] ?? "<unk>").filter((w) => !(options.skipSpecialTokens && this.specials.includes(w))).join(" ").replace(/ ([.,?!])/g, "$1");
  }

  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    let s = messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join("");
    s += options.addGenerationPrompt ? "<|assistant|>\n" : "<|endoftext|>";
    return s;
  }

  tokenToId(token: string): number | undefined { return this.vocab.get(token); }

  async save(): Promise<void> { throw new Error("FakeTokenizer cannot be saved"); }
}
