import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@birdvlm/core";
import { Tokenizer as RustTokenizer } from "tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { Phi3Tokenizer } from "./tokenizer.js";
import { buildWordLevelTokenizer } from "./word-level.js";

const BIRDS = [
  "Black-footed Albatross",
  "Laysan Albatross",
  "Crested Auklet",
  "Red-winged Blackbird",
  "Painted Bunting",
  "Cedar Waxwing",
  "Northern Flicker",
  "Ruby-throated Hummingbird",
  "Blue Jay",
  "Belted Kingfisher",
  "Ring-billed Gull",
  "Anna's Hummingbird",
  "Chuck-will's-widow",
  "Le Conte's Sparrow",
  "Yellow-bellied Flycatcher",
  "Gray Catbird",
  "Brown Pelican",
  "Western Meadowlark",
  "Common Yellowthroat",
  "Scissor-tailed Flycatcher",
];
const PARTS = ["crown", "nape", "bill", "wing", "tail", "breast", "belly", "throat", "eye", "leg", "back", "forehead"];
const COLOURS = [
  "black",
  "white",
  "red",
  "yellow",
  "blue",
  "grey",
  "brown",
  "buff",
  "olive",
  "iridescent green",
  "rufous",
];
const QUESTIONS = [
  "What species is this bird?",
  "What colour is the bird's {p}?",
  "Is the {p} {c}?",
  "How long is its bill?",
  "Describe the {p}.",
  "Where does the {b} live?",
  "Why is its {p} {c}??",
  "Can you tell me (briefly) what it eats?",
];
const UNICODE = [
  "Mésange charbonnière",
  "Rotkehlchen — Erithacus rubecula",
  "日本のツバメ",
  "Ворона",
  "🐦 bird!",
  "naïve café",
  "Ελληνικά πουλιά",
  "עוף",
  "ﬁnch ligature",
  "Straße",
  "😀😃 emoji pair",
  "tab\there",
  "zero\u200bwidth",
  "e\u0301 combining",
  "½ & ¾",
  "ÅNGSTRÖM",
  "\u00a0nbsp",
  "中文鸟类名称",
  "한국어 새",
  "𝔽𝕒𝕟𝕔𝕪",
];
const PUNCT = [
  "...",
  "!?",
  "—",
  "–",
  "''",
  '"quoted"',
  "(x)",
  "[y]",
  "{z}",
  "#1",
  "@home",
  "50%",
  "$3.99",
  "a/b",
  "c\\d",
  ";:",
  "~^`|",
];
const SPECIAL = ["<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>", "<|system|>", "<s>", "</s>"];

/** ≥ 1,000 varied strings: bird names and descriptions, questions, digits, punctuation, unicode, whitespace runs. */
function corpus(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
  const spaces = () => pick([" ", "  ", "   ", "\n", "\n\n", " \n ", "\t", "\r\n", "    \n\n  "]);
  const pieces = [
    () => pick(BIRDS),
    () => `The ${pick(BIRDS)} has a ${pick(COLOURS)} ${pick(PARTS)} and a ${pick(COLOURS)} ${pick(PARTS)}.`,
    () => pick(QUESTIONS).replace("{p}", pick(PARTS)).replace("{c}", pick(COLOURS)).replace("{b}", pick(BIRDS)),
    () => String(rng.int(1_000_000)),
    () => `${rng.int(100)}.${rng.int(1000)} cm, ${rng.int(24)}:${String(rng.int(60)).padStart(2, "0")}`,
    () => pick(PUNCT),
    () => pick(UNICODE),
    () => pick(SPECIAL),
    spaces,
  ];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    const k = 1 + rng.int(6);
    for (let j = 0; j < k; j++) parts.push(pick(pieces)());
    out.push(parts.join(rng.float() < 0.6 ? " " : spaces()));
  }
  return [
    ...out,
    "",
    " ",
    "  leading",
    "trailing  ",
    "\n\nnewlines\n\n",
    "a  b   c    d",
    "1234567890",
    "x".repeat(300),
  ];
}

const dir = sharedPath("data/phi3-mini-tokenizer");

describe.skipIf(!dir)("Phi3Tokenizer on Phi-3-mini's tokenizer", () => {
  let tok: Phi3Tokenizer;
  let rust: RustTokenizer;
  beforeAll(async () => {
    tok = await Phi3Tokenizer.load(dir!);
    rust = RustTokenizer.fromFile(join(dir!, "tokenizer.json"));
  });

  it("has Phi-3's special tokens", () => {
    expect(tok.tokenToId("<|user|>")).toBe(32010);
    expect(tok.tokenToId("<|assistant|>")).toBe(32001);
    expect(tok.tokenToId("<|end|>")).toBe(32007);
    expect(tok.tokenToId("<|endoftext|>")).toBe(32000);
    expect(tok.tokenToId("<|no such token|>")).toBeUndefined();
    expect(tok.stopTokenIds).toEqual([32007, 32000]);
    expect(tok.vocabSize).toBe(32011);
  });

  it("encodes 1,000+ strings to the same ids as the Rust tokenizers", async () => {
    const texts = corpus(1200, 7);
    expect(texts.length).toBeGreaterThanOrEqual(1000);
    const mismatches: string[] = [];
    for (const text of texts) {
      const want = (await rust.encode(text, null, { addSpecialTokens: true })).getIds();
      const got = tok.encode(text);
      if (JSON.stringify(want) !== JSON.stringify(got))
        mismatches.push(`${JSON.stringify(text)}: rust ${want} js ${got}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it("decodes as the Rust tokenizers do", async () => {
    for (const text of corpus(200, 8)) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(await rust.decode(ids, false));
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(await rust.decode(ids, true));
    }
  });

  it("renders the checkpoint's own chat template", () => {
    const messages = [
      { role: "system" as const, content: "You know birds." },
      { role: "user" as const, content: "What bird is this?" },
      { role: "assistant" as const, content: "A Blue Jay." },
      { role: "user" as const, content: "Sure?" },
    ];
    expect(tok.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      "<|system|>\nYou know birds.<|end|>\n<|user|>\nWhat bird is this?<|end|>\n<|assistant|>\nA Blue Jay.<|end|>\n<|user|>\nSure?<|end|>\n<|assistant|>\n",
    );
    expect(tok.applyChatTemplate(messages.slice(1, 2))).toBe("<|user|>\nWhat bird is this?<|end|>\n<|endoftext|>");
    const ids = tok.encode(tok.applyChatTemplate(messages.slice(1, 2), { addGenerationPrompt: true }));
    expect(ids[0]).toBe(32010);
    expect(ids.at(-1)).toBe(32001);
    expect(ids).toContain(32007);
  });

  it("saves both files unchanged", async () => {
    const out = await mkdtemp(join(tmpdir(), "phi3-tok-"));
    await tok.save(out);
    const again = await Phi3Tokenizer.load(out);
    expect(again.encode("Painted Bunting <|end|>")).toEqual(tok.encode("Painted Bunting <|end|>"));
    expect(JSON.parse(await readFile(join(out, "tokenizer_config.json"), "utf8")).chat_template).toBe(
      JSON.parse(await readFile(join(dir!, "tokenizer_config.json"), "utf8")).chat_template,
    );
    await rm(out, { recursive: true, force: true });
  });

  it("names a missing file", async () => {
    await expect(Phi3Tokenizer.load(join(tmpdir(), "no-such-tokenizer"))).rejects.toThrow(
      /no-such-tokenizer\/tokenizer\.json: cannot read/,
    );
  });
});

describe("buildWordLevelTokenizer", () => {
  const texts = corpus(400, 9);
  const tok = buildWordLevelTokenizer(texts, { extraSpecialTokens: ["<|image_pad|>"] });
  let out: string;
  let rust: RustTokenizer;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "phi3-wordlevel-"));
    await tok.save(out);
    rust = RustTokenizer.fromFile(join(out, "tokenizer.json"));
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it("puts the special tokens first and gives Phi-3's chat template", () => {
    expect(tok.tokenToId("<unk>")).toBe(0);
    expect(tok.tokenToId("<|user|>")).toBe(4);
    expect(tok.tokenToId("<|image_pad|>")).toBe(7);
    expect(tok.stopTokenIds).toEqual([tok.tokenToId("<|end|>"), tok.tokenToId("<|endoftext|>")]);
    const chat = tok.applyChatTemplate([{ role: "user", content: "What colour is the crown?" }], {
      addGenerationPrompt: true,
    });
    expect(chat).toBe("<|user|>\nWhat colour is the crown?<|end|>\n<|assistant|>\n");
    const ids = tok.encode(`${chat}<|image_pad|><|image_pad|>`);
    expect(ids[0]).toBe(4);
    expect(ids.slice(-3)).toEqual([5, 7, 7]);
    expect(tok.decode(tok.encode("the blue jay"))).toBe("the blue jay");
    expect(tok.encode("zzzunseen")).toEqual([0]);
  });

  it("is read identically by the Rust tokenizers and by Phi3Tokenizer.load", async () => {
    const loaded = await Phi3Tokenizer.load(out);
    for (const text of [...corpus(300, 10), "UPPER case", "never-seen words xyzzy"]) {
      const want = (await rust.encode(text, null, { addSpecialTokens: true })).getIds();
      expect(loaded.encode(text), text).toEqual(want);
      expect(tok.encode(text), text).toEqual(want);
      expect(loaded.decode(want, { skipSpecialTokens: true })).toBe(await rust.decode(want, true));
    }
    expect(loaded.vocabSize).toBe(rust.getVocabSize(true));
  });

  it("keeps the most frequent words within maxVocabSize", () => {
    const small = buildWordLevelTokenizer(["a a a b b c"], { maxVocabSize: 9, lowercase: false });
    expect(small.vocabSize).toBe(9);
    expect(small.encode("a b c")).toEqual([7, 8, 0]);
    expect(() => buildWordLevelTokenizer([], { specialTokens: ["<s>"] })).toThrow(/unkToken '<unk>'/);
  });
});
