import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { generateSynthBirds } from "@birdvlm/data";
import { VisionTransformer } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { BirdVLM } from "./birdvlm.js";
import { loadBirdTasks } from "./bird-tasks.js";
import { evaluate } from "./evaluate.js";
import { ImageTable } from "./image-table.js";
import { trainStage } from "./train-stage.js";

describe("BirdVLM on a small SynthBirds set", () => {
  it("trains align + instruct briefly on box crops and whole pictures, saves, reloads and answers identically, with or without a box; evaluation keeps to held-out images", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vlm-synth-"));
    try {
      await generateSynthBirds(join(dir, "birds"), {
        species: 3,
        imagesPerSpecies: 8,
        imageSize: 32,
        seed: 1,
        concurrency: 2,
      });
      const tasks = await loadBirdTasks(join(dir, "birds"), { questionsPerImage: 2 });
      expect(tasks.speciesNames).toHaveLength(3);
      expect(tasks.testIds.length).toBeGreaterThan(0);
      const tokenizer = buildWordLevelTokenizer(
        [...tasks.conversations, ...tasks.captions].flatMap((e) => e.messages.map((m) => m.content)),
        { extraSpecialTokens: ["<|image_pad|>"] },
      );
      const encoder = new VisionTransformer(
        { imageSize: 32, patchSize: 8, hiddenSize: 16, depth: 1, numHeads: 2, mlpSize: 32, numClasses: 0 },
        { seed: 0 },
      );
      const connector = new MlpProjector({
        inputDim: 16,
        outputDim: 32,
        pooling: { mode: "avg", outputGrid: [2, 2] },
        seed: 0,
      });
      const lm = new Phi3ForCausalLM(
        {
          vocabSize: tokenizer.vocabSize,
          hiddenSize: 32,
          intermediateSize: 64,
          numHiddenLayers: 1,
          numAttentionHeads: 2,
          maxPositionEmbeddings: 256,
          originalMaxPositionEmbeddings: 256,
        },
        { seed: 0 },
      );
      const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
      const ids = [...tasks.trainIds, ...tasks.testIds];
      const images = await ImageTable.fromFiles(
        ids,
        ids.map((id) => tasks.sources.get(id)!),
        encoder,
        { cropToBox: true },
      );
      // The demo's mix: every example is shown as its box crop or as the whole picture, so no box is needed to ask.
      const whole = await ImageTable.fromFiles(
        ids,
        ids.map((id) => tasks.paths.get(id)!),
        encoder,
      );
      await trainStage(vlm, {
        stage: "align",
        examples: tasks.captions,
        images,
        views: [whole],
        dataset: tasks.fingerprint,
        steps: 2,
        batchSize: 8,
      });
      const r = await trainStage(vlm, {
        stage: "instruct",
        examples: tasks.conversations,
        images,
        views: [whole],
        dataset: tasks.fingerprint,
        steps: 6,
        batchSize: 8,
        lr: 1e-2,
        trainLanguageModel: true,
      });
      expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]!);

      const test = images.gather(tasks.testIds.slice(0, 3));
      const question = "What species is this bird?";
      const before = await vlm.askBatch(test, [question], { maxNewTokens: 8 });
      await vlm.save(join(dir, "model"));
      const again = await BirdVLM.load(join(dir, "model"));
      expect(again.cropToBox).toBe(false);
      expect(await again.askBatch(test, [question], { maxNewTokens: 8 })).toEqual(before);
      const one = tf.slice(test, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      expect(await again.ask(one, question, { maxNewTokens: 8 })).toBe(before[1]);
      // Asked about the picture file itself, with no box: the answer about the whole picture.
      const testWhole = whole.gather(tasks.testIds.slice(0, 3));
      const wholeAnswers = await again.askBatch(testWhole, [question], { maxNewTokens: 8 });
      expect(await again.ask(tasks.paths.get(tasks.testIds[2]!)!, question, { maxNewTokens: 8 })).toBe(wholeAnswers[2]);
      tf.dispose(testWhole);
      whole.dispose();

      const set = { dataset: tasks.fingerprint, images, speciesNames: tasks.speciesNames };
      const report = await evaluate(again, { ...set, items: tasks.testItems.slice(0, 3) }, { rankSpecies: true });
      expect(report.images).toBe(3);
      expect(report.top5).toBe(1); // three species: every one is in the top five
      const trainItem = { imageId: tasks.trainIds[0]!, species: tasks.speciesNames[0]! };
      await expect(evaluate(again, { ...set, items: [trainItem] })).rejects.toThrow(
        /1 of the 1 test images trained the projector/,
      );
      tf.dispose([test, one]);
      images.dispose();
      again.dispose();
      vlm.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
