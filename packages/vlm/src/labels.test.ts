import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, labelConversation, supervisedShare } from "./labels.js";
import type { ChatMessage } from "@birdvlm/core";
import { dirname } from "node:path";
import { Phi3Tokenizer, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { sharedPath } from "../../../testing/shared.js";

const tok = buildWordLevelTokenizer(["what is this bird? a red robin. its wing is blue, be brief"], {
  extraSpecialTokens: ["<|image_pad|>"],
});

function learned(messages: ChatMessage[]): string[] {
  const { ids, labels } = labelConversation(tok, messages);
  expect(labels).toHaveLength(ids.length);
  const spans: string[] = [];
  let cur: number[] = [];
  labels.forEach((l, i) => {
    if (l !== IGNORE_INDEX) {
      expect(l).toBe(ids[i]);
      cur.push(l);
    } else if (cur.length) {
      spans.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length) spans.push(tok.decode(cur));
  return spans;
}

describe("labelConversation (word-level tokenizer with Phi-3's template)", () => {
  it("learns each assistant answer and its <|end|>, nothing else, over several turns", () => {
    const spans = learned([
      { role: "system", content: "be brief" },
      { role: "user", content: "<|image_pad|>\nwhat is this bird?" },
      { role: "assistant", content: "a red robin." },
      { role: "user", content: "what is its wing?" },
      { role: "assistant", content: "blue." },
    ]);
    expect(spans).toEqual(["a red robin.<|end|>", "blue.<|end|>"]);
  });

  it("reports the supervised share, zero when there is no answer", () => {
    const none = labelConversation(tok, [{ role: "user", content: "what is this bird?" }]);
    expect(supervisedShare([none])).toBe(0);
    const one = labelConversation(tok, [
      { role: "user", content: "what?" },
      { role: "assistant", content: "a robin." },
    ]);
    expect(supervisedShare([one])).toBeCloseTo(4 / one.ids.length, 6);
  });
});

describe.skipIf(!sharedPath("data/phi3-mini-tokenizer/tokenizer.json"))(
  "labelConversation (real Phi-3 tokenizer and chat template)",
  () => {
    it("learns exactly each assistant answer and its <|end|> over a multi-turn conversation", async () => {
      const phi3 = await Phi3Tokenizer.load(dirname(sharedPath("data/phi3-mini-tokenizer/tokenizer.json")!));
      const messages: ChatMessage[] = [
        { role: "system", content: "You answer questions about birds." },
        { role: "user", content: "<|placeholder1|><|placeholder1|>\nWhat species is this bird?" },
        { role: "assistant", content: "This is a Black-footed Albatross." },
        { role: "user", content: "What colour are its wings?" },
        { role: "assistant", content: "Its wings are grey." },
        { role: "user", content: "Is it large?" },
        { role: "assistant", content: "Yes." },
      ];
      const { ids, labels } = labelConversation(phi3, messages);
      const end = phi3.tokenToId("<|end|>")!;
      const spans: number[][] = [];
      let cur: number[] = [];
      labels.forEach((l, i) => {
        if (l !== IGNORE_INDEX) {
          expect(l).toBe(ids[i]);
          cur.push(l);
        } else if (cur.length) {
          spans.push(cur);
          cur = [];
        }
      });
      if (cur.length) spans.push(cur);
      expect(spans).toHaveLength(3);
      expect(spans.map((s) => s.at(-1))).toEqual([end, end, end]);
      expect(spans.map((s) => phi3.decode(s.slice(0, -1)).trim())).toEqual([
        "This is a Black-footed Albatross.",
        "Its wings are grey.",
        "Yes.",
      ]);
      // nothing of the system, user turns, role tokens, image markers or the closing <|endoftext|> is learned
      const placeholder = phi3.tokenToId("<|placeholder1|>")!;
      for (const t of [
        placeholder,
        phi3.tokenToId("<|user|>")!,
        phi3.tokenToId("<|assistant|>")!,
        phi3.tokenToId("<|endoftext|>")!,
      ]) {
        expect(labels.some((l) => l === t)).toBe(false);
      }
      expect(ids.filter((t) => t === placeholder)).toHaveLength(2);
      expect(supervisedShare([{ ids, labels }])).toBeGreaterThan(0);
    });
  },
);
