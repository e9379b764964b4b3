import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSynthBirds } from "@birdvlm/data";
import { buildWordLevelTokenizer } from "@birdvlm/phi3";
import { sharedPath } from "../../../testing/shared.js";
import { loadBirdTasks, type BirdTasks } from "./bird-tasks.js";

/** Every question and answer BirdQA wrote for a folder, as the word-level tokenizer should give them back. */
function texts(tasks: BirdTasks): string[] {
  const all = [...tasks.captions, ...tasks.conversations].flatMap((e) =>
    e.messages.map((m) => m.content.replace("<image>\n", "")),
  );
  for (const item of tasks.testItems)
    all.push(item.species, ...(item.attributes ?? []).flatMap((a) => [a.question, a.answer]));
  return all;
}

function expectRoundTrips(tasks: BirdTasks): number {
  const all = texts(tasks);
  const tokenizer = buildWordLevelTokenizer(all, { extraSpecialTokens: ["<|image_pad|>"] });
  const seen = new Set<string>();
  for (const text of all) {
    if (seen.has(text)) continue;
    seen.add(text);
    expect(tokenizer.decode(tokenizer.encode(text)), text).toBe(text.toLowerCase().replace(/\s+/g, " ").trim());
  }
  return seen.size;
}

describe("the demo's word-level tokenizer on BirdQA's own phrases", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vlm-qa-tok-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("gives back every SynthBirds question, answer and caption as written (hyphens joined, punctuation unspaced)", async () => {
    await generateSynthBirds(join(dir, "birds"), {
      species: 12,
      imagesPerSpecies: 3,
      imageSize: 32,
      seed: 0,
      concurrency: 2,
    });
    const tasks = await loadBirdTasks(join(dir, "birds"));
    expect(tasks.speciesNames.some((n) => n.includes("-"))).toBe(true);
    expect(expectRoundTrips(tasks)).toBeGreaterThan(50);
  });

  const subset = sharedPath("data/cub-subset-train");
  it.skipIf(!subset)(
    "gives back every phrase BirdQA writes for the real CUB subset (Chuck-will's-widow, ...)",
    async () => {
      const tasks = await loadBirdTasks(subset!, { classes: 40 });
      expect(expectRoundTrips(tasks)).toBeGreaterThan(100);
    },
  );
});
