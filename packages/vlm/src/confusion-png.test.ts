import { describe, expect, it } from "vitest";
import sharp from "sharp";
import { confusedPairsSvg, confusionMatrixSvg, confusionPng } from "./confusion-png.js";
import { mostConfusedPairs } from "./report-summary.js";

const names = (n: number) => Array.from({ length: n }, (_, i) => `Species ${i} & Co`);
const matrix = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: n + 1 }, (_, j) => (j === i ? 4 : j === (i + 1) % n ? 1 + (i % 3) : 0)),
  );

describe("confusion pictures", () => {
  it("at few species: the matrix with both axes named, escaped species names, the no-species column and a colour scale", async () => {
    const svg = confusionMatrixSvg(matrix(3), names(3), "Species answers on test");
    for (const s of ["Species answers on test", "true species", "species named in the answer", "(no species named)"])
      expect(svg).toContain(s);
    expect(svg.match(/Species 1 &#38; Co/g)).toHaveLength(2); // a row label and a column label
    expect(svg).toContain(">100%<");
    expect(svg).toContain(">0%<");
    const png = await confusionPng(matrix(3), names(3));
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBeGreaterThan(300);
  });

  it("at many species: a chart of the 20 most confused pairs, labelled true → answered with counts", async () => {
    const m = matrix(40);
    const pairs = mostConfusedPairs(m, names(40));
    const svg = confusedPairsSvg(pairs, "Species answers on validation");
    expect(svg).toContain("the 20 most confused species pairs");
    expect(svg).toContain("Species 2 &#38; Co → Species 3 &#38; Co");
    expect(svg).toContain("3 of 7 (43%)");
    expect(svg.match(/ → /g)).toHaveLength(21); // 20 bars and the axis title
    const png = await confusionPng(m, names(40), { title: "Species answers on validation" });
    const meta = await sharp(png).metadata();
    expect(meta.height).toBeLessThan(700);
    expect(confusedPairsSvg([])).toContain("no species was confused with another");
  });
});
