import { describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { buildWordLevelTokenizer } from "@birdvlm/phi3";
import { evaluate } from "./evaluate.js";
import { colourImages, tinyVlm } from "./testing/tiny-parts.js";

const NAMES = ["red", "blue", "green"];
const Q = "what colour is this bird?";
const tok = buildWordLevelTokenizer([`${Q} it is a red blue green small large black.`], {
  extraSpecialTokens: ["<|image_pad|>"],
});

describe("evaluate: report a person can read", () => {
  it("puts each question type's accuracy beside its majority-answer baseline and writes report.json and confusion.png", async () => {
    const vlm = tinyVlm(tok, 3);
    const images = colourImages(4, [
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-eval-"));
    try {
      const report = await evaluate(
        vlm,
        {
          dataset: "colours",
          images,
          speciesNames: NAMES,
          speciesQuestion: Q,
          // training: species red x3, blue x1; wing_color blue x2, green x1; size small x1
          trainingAnswers: [
            ...["red", "red", "red", "blue"].map((answer) => ({ type: "species", answer })),
            ...["blue", "green", "blue"].map((answer) => ({ type: "wing_color", answer })),
            { type: "size", answer: "small" },
          ],
          items: [
            {
              imageId: "img0",
              species: "red",
              attributes: [
                { question: Q, answer: "blue", type: "wing_color" },
                { question: Q, answer: "large", type: "size" },
              ],
            },
            { imageId: "img1", species: "blue", attributes: [{ question: Q, answer: "green", type: "wing_color" }] },
            { imageId: "img2", species: "green", attributes: [{ question: Q, answer: "blue", type: "wing_color" }] },
            { imageId: "img3", species: "red", attributes: [{ question: Q, answer: "black", type: "eye_color" }] },
          ],
        },
        { rankSpecies: false, maxNewTokens: 4, outDir: dir },
      );
      const by = Object.fromEntries(report.questionTypes.map((q) => [q.type, q]));
      expect(report.questionTypes[0]!.type).toBe("species");
      expect(by.species).toMatchObject({ questions: 4, majorityAnswer: "red", baseline: 0.5 });
      expect(by.species!.accuracy).toBe(report.speciesAccuracy);
      expect(by.wing_color).toMatchObject({ questions: 3, majorityAnswer: "blue" });
      expect(by.wing_color!.baseline).toBeCloseTo(2 / 3);
      expect(by.size).toMatchObject({ questions: 1, majorityAnswer: "small", baseline: 0 });
      expect(by.eye_color).toMatchObject({ questions: 1, baseline: 0 });
      expect(by.eye_color!.majorityAnswer).toBeUndefined();
      expect(report.attributeBaseline).toBeCloseTo(2 / 5);
      const attrRight = report.questionTypes
        .filter((q) => q.type !== "species")
        .reduce((s, q) => s + q.accuracy * q.questions, 0);
      expect(attrRight / report.attributeQuestions).toBeCloseTo(report.attributeAccuracy!);
      expect(report.mostConfused.every((p) => p.truth !== p.answered)).toBe(true);
      const saved = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
      expect(saved.questionTypes).toEqual(report.questionTypes);
      expect(saved.attributeBaseline).toBeCloseTo(2 / 5);
      expect((await sharp(join(dir, "confusion.png")).metadata()).format).toBe("png");
    } finally {
      vlm.dispose();
      images.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
