import { describe, expect, it } from "vitest";
import { birdvlmMatMulChoice, MatMulProgram, matMulDims, tfjsMatMulChoice } from "./matmul-choice.js";

describe("matmul program choice", () => {
  it("follows TF.js but replaces split-K", () => {
    expect(tfjsMatMulChoice(1, 16, 40, 2400, 8)).toBe(MatMulProgram.splitK);
    expect(birdvlmMatMulChoice(1, 16, 40, 2400, 8)).toBe(MatMulProgram.smallOutputSize);
    expect(birdvlmMatMulChoice(1, 4, 8, 2400, 8)).toBe(MatMulProgram.reduce);
    expect(birdvlmMatMulChoice(1, 12608, 576, 192, 8)).toBe(MatMulProgram.packed); // ViT-Tiny qkv at batch 64
    expect(birdvlmMatMulChoice(36, 197, 197, 64, 8)).toBe(MatMulProgram.packed); // attention scores
  });

  it("reads M, N, K and the batch from shapes and transpose flags", () => {
    expect(matMulDims([3, 5, 7], [7, 11], false, false)).toEqual([3, 5, 11, 7]);
    expect(matMulDims([7, 5], [2, 11, 7], true, true)).toEqual([2, 5, 11, 7]);
  });
});
