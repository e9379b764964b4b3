import type { ChatMessage, TextTokenizer } from "@birdvlm/core";

/** The label of a position that is not learned (PyTorch's `ignore_index`). */
export const IGNORE_INDEX = -100;

/** A tokenized training conversation: ids and, per position, the id to learn there or -100. */
export interface LabeledSequence {
  ids: number[];
  /** Same length as `ids`: `ids[i]` where position i is an assistant answer token (or its end token), else -100. */
  labels: number[];
}

/**
 * Tokenizes a conversation with the tokenizer's chat template and labels only the assistant answers and the
 * token that ends each of them (`<|end|>` for Phi-3); system, user, role tokens, markers and the trailing
 * end-of-text stay -100. Works for any template: each answer's span is found by rendering the conversation up to
 * that turn with and without the answer and comparing token prefixes.
 */
export function labelConversation(tokenizer: TextTokenizer, messages: ChatMessage[]): LabeledSequence {
  const full = tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false }));
  const labels = new Array<number>(full.length).fill(IGNORE_INDEX);
  const stops = new Set(tokenizer.stopTokenIds);
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.role !== "assistant") continue;
    const before = tokenizer.encode(tokenizer.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true }));
    const through = tokenizer.encode(
      tokenizer.applyChatTemplate(messages.slice(0, i + 1), { addGenerationPrompt: false }),
    );
    const start = commonPrefix(before, full);
    let end = commonPrefix(through, full);
    // `through` ends with the template's closing text; the answer ends at its first stop token after `start`.
    let stopAt = -1;
    for (let p = start; p < end; p++)
      if (stops.has(full[p]!)) {
        stopAt = p;
        break;
      }
    if (stopAt >= 0) end = stopAt + 1;
    for (let p = start; p < end; p++) labels[p] = full[p]!;
  }
  return { ids: full, labels };
}

/** Share of positions that are learned (labels ≠ -100) over a set of sequences. */
export function supervisedShare(sequences: readonly LabeledSequence[]): number {
  let learned = 0,
    total = 0;
  for (const s of sequences) {
    total += s.labels.length;
    for (const l of s.labels) if (l !== IGNORE_INDEX) learned++;
  }
  return total === 0 ? 0 : learned / total;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
