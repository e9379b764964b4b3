import { describe, expect, it } from "vitest";
import { Rng, tf } from "@birdvlm/core";
import { buildWordLevelTokenizer } from "@birdvlm/phi3";
import { VisionTransformer } from "@birdvlm/vit";
import { SpeciesDistillation, drawIndex, speciesBeliefs, type ImageClassifier } from "./species-distillation.js";
import { ImageTable } from "./image-table.js";
import { randomCropFlip } from "./random-crop-flip.js";
import { colourImages, tinyVlm } from "./testing/tiny-parts.js";
import { trainStage, type VlmExample } from "./train-stage.js";
import { loadBirdTasks } from "./bird-tasks.js";
import { sharedPath } from "../../../testing/shared.js";

const NAMES = ["red", "blue", "green"];
const COLOURS: Array<[number, number, number]> = [
  [1, 0, 0],
  [0, 0, 1],
  [0, 1, 0],
];

function question(id: string, answer: string): VlmExample {
  return {
    imageId: id,
    messages: [
      { role: "user", content: "<image>\nwhat colour is this bird?" },
      { role: "assistant", content: answer },
      { role: "user", content: "is it small?" },
      { role: "assistant", content: "yes" },
    ],
    speciesTurn: 1,
  };
}

describe("drawIndex", () => {
  it("walks the running sum (normalized by the total)", () => {
    const p = new Float32Array([0.2, 0, 0.6, 0.2]);
    expect([0, 0.19, 0.21, 0.79, 0.81, 0.999].map((u) => drawIndex(p, u))).toEqual([0, 0, 2, 2, 3, 3]);
    expect(drawIndex(new Float32Array([2, 6]), 0.3)).toBe(1);
  });
});

/** A classifier whose logits are fixed per image: row i of `logits` for the i-th image of the batch. */
function fixedClassifier(logits: number[][]): ImageClassifier {
  return { classify: (images) => tf.tensor2d(logits.slice(0, images.shape[0])) };
}
const IMG = () => tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;

describe("SpeciesDistillation", () => {
  it("draws species answers with the belief's frequencies and leaves the other turns alone", () => {
    const classifier = fixedClassifier([[0, Math.log(3), -100]]); // softmax: 0.25, 0.75, 0
    const d = new SpeciesDistillation({ speciesNames: NAMES, classifier });
    const rng = new Rng(5);
    const img = IMG();
    const counts: Record<string, number> = { red: 0, blue: 0, green: 0 };
    for (let i = 0; i < 2000; i++) {
      const [e] = d.sample([question("a", "green")], img, rng);
      expect(e!.messages.map((m) => m.content).filter((_, k) => k !== 1)).toEqual([
        "<image>\nwhat colour is this bird?",
        "is it small?",
        "yes",
      ]);
      counts[e!.messages[1]!.content]!++;
    }
    expect(counts.green).toBe(0);
    expect(counts.blue! / 2000).toBeCloseTo(0.75, 1);
    img.dispose();
  });

  it("approaches the argmax at a low temperature; sums a species' classes", () => {
    const img = IMG();
    const rng = new Rng(2);
    const sharp = new SpeciesDistillation({
      speciesNames: NAMES,
      classifier: fixedClassifier([[1, 1.5, 0]]),
      temperature: 0.01,
    });
    for (let i = 0; i < 50; i++)
      expect(sharp.sample([question("a", "red")], img, rng)[0]!.messages[1]!.content).toBe("blue");
    // four classes, two of them "green": 0.1 + 0.1 + 0.4 + 0.4 → green 0.8
    const grouped = new SpeciesDistillation({
      speciesNames: NAMES,
      classifier: fixedClassifier([[Math.log(1), Math.log(1), Math.log(4), Math.log(4)]]),
      speciesOfClass: [0, 1, 2, 2],
    });
    let green = 0;
    for (let i = 0; i < 2000; i++)
      if (grouped.sample([question("a", "red")], img, rng)[0]!.messages[1]!.content === "green") green++;
    expect(green / 2000).toBeCloseTo(0.8, 1);
    img.dispose();
  });

  it("keeps the label for labelShare of the draws, and examples without a species turn as they are", () => {
    const classifier = fixedClassifier([[0, 9, 0]]);
    const rng = new Rng(1);
    const img = IMG();
    const e = question("a", "red");
    expect(new SpeciesDistillation({ speciesNames: NAMES, classifier, labelShare: 1 }).sample([e], img, rng)[0]).toBe(
      e,
    );
    const half = new SpeciesDistillation({ speciesNames: NAMES, classifier, labelShare: 0.5 });
    let kept = 0;
    for (let i = 0; i < 2000; i++) if (half.sample([e], img, rng)[0] === e) kept++;
    expect(kept / 2000).toBeCloseTo(0.5, 1);
    const { speciesTurn: _, ...plain } = e;
    expect(half.sample([plain], img, rng)[0]).toBe(plain);
    img.dispose();
  });

  it("names what is wrong: a belief of the wrong length, a batch of the wrong size, a bad labelShare or temperature", () => {
    const img = IMG();
    const two = new SpeciesDistillation({ speciesNames: NAMES, classifier: fixedClassifier([[0, 1]]) });
    expect(() => two.sample([question("a", "red")], img, new Rng(0))).toThrow(
      /the classifier has 2 classes for 3 species/,
    );
    expect(() => two.sample([question("a", "red"), question("b", "red")], img, new Rng(0))).toThrow(
      /2 examples but 1 images/,
    );
    const classifier = fixedClassifier([[0, 1, 2]]);
    expect(() => new SpeciesDistillation({ speciesNames: NAMES, classifier, labelShare: 2 })).toThrow(/labelShare/);
    expect(() => speciesBeliefs(classifier, img, { temperature: 0 })).toThrow(/temperature/);
    expect(() => speciesBeliefs(classifier, img, { speciesOfClass: [0, 1] })).toThrow(/a speciesOfClass of 2/);
    img.dispose();
  });
});

describe("speciesBeliefs", () => {
  it("is a ViT head's softmax at temperature T, summed per species, without leaking tensors", () => {
    const vit = new VisionTransformer(
      { imageSize: 16, patchSize: 4, hiddenSize: 16, depth: 1, numHeads: 2, mlpSize: 32, numClasses: 4 },
      { seed: 2 },
    );
    const table = colourImages(5, COLOURS);
    const images = table.gather(["img0", "img1", "img2", "img3", "img4"]);
    const before = tf.memory().numTensors;
    const beliefs = speciesBeliefs(vit, images, { temperature: 2 });
    const grouped = speciesBeliefs(vit, images, { speciesOfClass: [0, 1, 1, 0], speciesCount: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const logits = tf.tidy(() => vit.classify(images)).arraySync();
    logits.forEach((row, r) => {
      const soft = (t: number) => {
        const e = row.map((v) => Math.exp(v / t));
        const s = e.reduce((x, y) => x + y, 0);
        return e.map((v) => v / s);
      };
      const p2 = soft(2);
      [...beliefs[r]!].forEach((v, c) => expect(v).toBeCloseTo(p2[c]!, 5));
      const p1 = soft(1);
      expect(grouped[r]![0]).toBeCloseTo(p1[0]! + p1[3]!, 5);
      expect(grouped[r]![1]).toBeCloseTo(p1[1]! + p1[2]!, 5);
    });
    images.dispose();
    table.images.dispose();
    vit.dispose();
  });
});

const subset = sharedPath("data/cub-subset-train");
describe.skipIf(!subset)("loadBirdTasks' conversations on the real CUB subset", () => {
  it("mark the assistant turn that answers the species question with the image's species", async () => {
    const tasks = await loadBirdTasks(subset!, { classes: 5 });
    expect(tasks.conversations.length).toBeGreaterThan(100);
    for (const e of tasks.conversations) {
      expect(e.messages[e.speciesTurn!]).toEqual({
        role: "assistant",
        content: tasks.speciesNames[tasks.classIndexOf.get(e.imageId)!],
      });
      expect(e.messages[e.speciesTurn! - 1]!.content).toMatch(/species|bird/i);
    }
    expect(tasks.captions.every((e) => e.speciesTurn === undefined)).toBe(true);
  });
});

describe("trainStage with an answer sampler", () => {
  it("learns the sampled answers, not the written ones", async () => {
    const tok = buildWordLevelTokenizer(["what colour is this bird? red blue green. is it small? yes"], {
      extraSpecialTokens: ["<|image_pad|>"],
    });
    const vlm = tinyVlm(tok, 1);
    const images: ImageTable = colourImages(33, COLOURS);
    // every label says "red"; the belief says the true colour
    const train = Array.from({ length: 30 }, (_, i) => question(`img${i}`, "red"));
    // the teacher reads the colour off the mean of each channel: red (R), blue (B), green (G)
    const classifier: ImageClassifier = {
      classify: (x) => tf.tidy(() => tf.mul(tf.gather(tf.mean(x, [1, 2]), [0, 2, 1], 1), 50) as tf.Tensor2D),
    };
    const answerSampler = new SpeciesDistillation({ speciesNames: NAMES, classifier });
    const augment = randomCropFlip({ scale: [0.3, 1] });
    const common = { stage: "instruct" as const, examples: train, images, dataset: "colours", batchSize: 12, augment };
    await trainStage(vlm, { ...common, steps: 1, lr: 1e-3, trainLanguageModel: true, answerSampler });
    const before = tf.memory().numTensors;
    await trainStage(vlm, { ...common, steps: 60, lr: 1e-2, trainLanguageModel: true, seed: 3, answerSampler });
    expect(tf.memory().numTensors).toBe(before);
    const held = images.gather(["img30", "img31", "img32"]);
    expect(await vlm.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 3 })).toEqual(NAMES);
    held.dispose();
    vlm.dispose();
  });
});
