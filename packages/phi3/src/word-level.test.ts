import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer as RustTokenizer } from "tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Phi3Tokenizer } from "./tokenizer.js";
import { buildWordLevelTokenizer } from "./word-level.js";

// Phrases as BirdQA writes them (species names of CUB and SynthBirds, attribute answers, captions, questions).
const PHRASES = [
  "What species is this bird?",
  "Black-capped Orange-winged Curlew",
  "A Black-footed Albatross, a large bird with a hooked bill and grey wings.",
  "Chuck-will's-widow",
  "Le Conte's Sparrow",
  "Which plumage or morph does this bird show?",
  "What colour is the bird's crown?",
  "It has a dagger-shaped bill.",
  "Is the breast striped? No.",
  "Yes",
  "all-purpose",
  "perching-like",
  "The wings are blue and white (multi-coloured).",
  "Ruby-throated Hummingbird: small, about 3-5 in.",
];

describe("buildWordLevelTokenizer decoding", () => {
  const tok = buildWordLevelTokenizer(PHRASES, { extraSpecialTokens: ["<|image_pad|>"] });
  let dir: string;
  let rust: RustTokenizer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "phi3-wordlevel-decode-"));
    await tok.save(dir);
    rust = RustTokenizer.fromFile(join(dir, "tokenizer.json"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("joins hyphens and apostrophes and keeps punctuation where it was written", () => {
    for (const p of PHRASES) expect(tok.decode(tok.encode(p)), p).toBe(p.toLowerCase());
    expect(tok.decode(tok.encode("black-capped orange-winged curlew"))).toBe("black-capped orange-winged curlew");
    expect(tok.decode(tok.encode("  Yes\n\tno.   "))).toBe("yes no.");
  });

  it("decodes an answer turn without the chat markers, and whitespace runs as one space", () => {
    const chat = tok.applyChatTemplate([
      { role: "user", content: "<|image_pad|>\nWhat species is this bird?" },
      { role: "assistant", content: "Black-capped Orange-winged Curlew" },
    ]);
    const ids = tok.encode(chat);
    const start = ids.lastIndexOf(tok.tokenToId("<|assistant|>")!) + 1;
    expect(tok.decode(ids.slice(start), { skipSpecialTokens: true })).toBe("black-capped orange-winged curlew");
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(
      "what species is this bird? black-capped orange-winged curlew",
    );
    expect(tok.decode(tok.encode("bird\n\nbill   crown?"))).toBe("bird bill crown?");
  });

  it("splits words as the Rust tokenizers do, which decode them the same", async () => {
    const loaded = await Phi3Tokenizer.load(dir);
    for (const p of [...PHRASES, "Black - capped , spaced ( odd )", "unseen-words here"]) {
      const want = (await rust.encode(p, null, { addSpecialTokens: true })).getIds();
      expect(tok.encode(p), p).toEqual(want);
      expect(loaded.decode(want), p).toBe(await rust.decode(want, false));
    }
  });
});
