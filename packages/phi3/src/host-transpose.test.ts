import { describe, expect, it } from "vitest";
import { transposeMatrix } from "./host-transpose.js";

describe("transposeMatrix", () => {
  it("transposes matrices of sizes that do and do not fill the tiles", () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 200],
      [130, 67],
      [64, 64],
    ] as const) {
      const values = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 7);
      const out = transposeMatrix(values, rows, cols);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) expect(out[c * rows + r]).toBe(values[r * cols + c]);
    }
    expect(() => transposeMatrix(new Float32Array(5), 2, 3)).toThrow(/5 values for \[2, 3\]/);
  });
});
