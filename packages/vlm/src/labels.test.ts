import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, labelConversation, supervisedShare } from "./labels.js";
import { FakeTokenizer } from "./testing/fake-tokenizer.js";
import type { ChatMessage } from "@birdvlm/core";

const tok = new FakeTokenizer("what is this bird ? a red robin . its wing is blue be brief".split(" "));

function learned(messages: ChatMessage[]): string[] {
  const { ids, labels } = labelConversation(tok, messages);
  expect(labels).toHaveLength(ids.length);
  const spans: string[] = [];
  let cur: number[] = [];
  labels.forEach((l, i) => {
    if (l !== IGNORE_INDEX) { expect(l).toBe(ids[i]); cur.push(l); } else if (cur.length) { spans.push(tok.decode(cur)); cur = []; }
  });
  if (cur.length) spans.push(tok.decode(cur));
  return spans;
}

describe("labelConversation (word-level tokenizer)", () => {
  it("learns each assistant answer and its <|end|>, nothing else, over several turns", () => {
    const spans = learned([
      { role: "system", content: "be brief" },
      { role: "user", content: "<|image_pad|>\nwhat is this bird?" },
      { role: "assistant", content: "a red robin." },
      { role: "user", content: "what is its wing?" },
      { role: "assistant", content: "blue." },
    ]);
    expect(spans).toEqual(["a red robin. <|end|>", "blue. <|end|>"]);
  });

  it("reports the supervised share, zero when there is no answer", () => {
    const none = labelConversation(tok, [{ role: "user", content: "what is this bird?" }]);
    expect(supervisedShare([none])).toBe(0);
    const one = labelConversation(tok, [{ role: "user", content: "what?" }, { role: "assistant", content: "a robin." }]);
    expect(supervisedShare([one])).toBeCloseTo(4 / one.ids.length, 6);
  });
});
