import { describe, expect, it } from "vitest";
import {
  QuestionTypeTally,
  answerIsRight,
  formatEvalSummary,
  majorityAnswers,
  mostConfusedPairs,
} from "./report-summary.js";

describe("majority-answer baselines", () => {
  it("picks the most common training answer per type (normalized; ties to the first seen)", () => {
    const m = majorityAnswers([
      { type: "wing_color", answer: "grey" },
      { type: "wing_color", answer: "Blue" },
      { type: "wing_color", answer: "blue" },
      { type: "bill_shape", answer: "cone" },
      { type: "bill_shape", answer: "hooked" },
      { type: "species", answer: "Red-winged Blackbird" },
    ]);
    expect(Object.fromEntries(m)).toEqual({
      wing_color: "Blue",
      bill_shape: "cone",
      species: "Red-winged Blackbird",
    });
  });

  it("scores the majority answer on the test questions as the model's answers are scored", () => {
    const names = ["Blackbird", "Red-winged Blackbird", "Gray Catbird"];
    const tally = new QuestionTypeTally(
      majorityAnswers([
        { type: "species", answer: "Red-winged Blackbird" },
        { type: "species", answer: "Red-winged Blackbird" },
        { type: "species", answer: "Gray Catbird" },
        { type: "wing_color", answer: "blue" },
        { type: "wing_color", answer: "blue" },
        { type: "wing_color", answer: "green" },
        { type: "size", answer: "small" },
      ]),
      names,
    );
    // species: the majority "Red-winged Blackbird" is right for 1 of 3 (it does not name "Blackbird": longest name wins)
    tally.add("species", "Red-winged Blackbird", true);
    tally.add("species", "Blackbird", false);
    tally.add("species", "Gray Catbird", false);
    // wing_color: "blue" right for 2 of 3; size: "small" right for none; eye_color: never asked in training
    tally.add("wing_color", "blue", true);
    tally.add("wing_color", "blue", true);
    tally.add("wing_color", "green", false);
    tally.add("size", "large", true);
    tally.add("eye_color", "black", false);
    const scores = tally.scores();
    expect(scores.map((s) => s.type)).toEqual(["species", "wing_color", "eye_color", "size"]);
    const by = Object.fromEntries(scores.map((s) => [s.type, s]));
    expect(by.species).toMatchObject({ questions: 3, majorityAnswer: "Red-winged Blackbird" });
    expect(by.species!.accuracy).toBeCloseTo(1 / 3);
    expect(by.species!.baseline).toBeCloseTo(1 / 3);
    expect(by.wing_color!.baseline).toBeCloseTo(2 / 3);
    expect(by.wing_color!.accuracy).toBeCloseTo(2 / 3);
    expect(by.size).toMatchObject({ questions: 1, accuracy: 1, baseline: 0, majorityAnswer: "small" });
    expect(by.eye_color).toEqual({ type: "eye_color", questions: 1, accuracy: 0, baseline: 0 });
    expect(tally.attributeBaseline()).toBeCloseTo(2 / 5);
    expect(answerIsRight("wing_color", "It has blue wings.", "blue")).toBe(true);
    expect(answerIsRight("wing_color", "bluish", "blue")).toBe(false);
  });
});

describe("mostConfusedPairs", () => {
  it("lists off-diagonal cells by count, then share, leaving out answers that name no species", () => {
    const names = ["A", "B", "C"];
    const m = [
      [5, 3, 0, 9],
      [1, 2, 1, 0],
      [0, 3, 1, 0],
    ];
    expect(mostConfusedPairs(m, names)).toEqual([
      { truth: "C", answered: "B", count: 3, share: 3 / 4 },
      { truth: "A", answered: "B", count: 3, share: 3 / 17 },
      { truth: "B", answered: "A", count: 1, share: 1 / 4 },
      { truth: "B", answered: "C", count: 1, share: 1 / 4 },
    ]);
    expect(mostConfusedPairs(m, names, 1)).toHaveLength(1);
  });
});

describe("formatEvalSummary", () => {
  it("prints each question type's accuracy beside its majority baseline, and the most confused pairs", () => {
    const lines = formatEvalSummary({
      split: "validation",
      images: 600,
      speciesAccuracy: 0.128,
      top1: 0.134,
      top5: 0.414,
      attributeAccuracy: 0.656,
      attributeBaseline: 0.58,
      attributeQuestions: 20,
      questionTypes: [
        { type: "species", questions: 600, accuracy: 0.128, baseline: 0.01, majorityAnswer: "Gray Catbird" },
        { type: "wing_color", questions: 20, accuracy: 0.7, baseline: 0.5, majorityAnswer: "brown" },
      ],
      mostConfused: [{ truth: "Horned Lark", answered: "Vesper Sparrow", count: 3, share: 0.25 }],
    });
    expect(lines.join("\n")).toBe(
      [
        "validation: 600 images",
        "  species, free answers: 12.8% (majority baseline 1.0%); by likelihood top-1 13.4%, top-5 41.4%",
        "  attributes: 65.6% over 20 questions (majority baseline 58.0%)",
        "  question type  questions  accuracy  majority  (majority answer)",
        "  wing_color            20     70.0%     50.0%  brown",
        "  most confused (true -> answered):",
        "    Horned Lark -> Vesper Sparrow: 3 (25.0%)",
      ].join("\n"),
    );
  });
});
