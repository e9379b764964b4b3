import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { seeded } from "../../testing/tensors.js";
import {
  birdvlmMatMulChoice,
  chooseMatMul,
  MatMulProgram,
  matMulDims,
  parseMatMulOverridesEnv,
  setMatMulOverrides,
  tfjsMatMulChoice,
  type MatMulShape,
} from "./matmul-choice.js";
import { describeEachBackend } from "../../testing/backends.js";

const shape = (
  batch: number,
  M: number,
  N: number,
  K: number,
  transposeA = false,
  transposeB = false,
): MatMulShape => ({ batch, M, N, K, transposeA, transposeB });

describe("matmul program choice", () => {
  afterEach(() => setMatMulOverrides([]));

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

  it("with an empty table, picks TF.js's program minus split-K", () => {
    expect(chooseMatMul(shape(1, 1, 3072, 8192), 8)).toEqual({ program: MatMulProgram.packed });
    expect(chooseMatMul(shape(1, 16, 40, 2400), 8)).toEqual({ program: MatMulProgram.smallOutputSize });
  });

  it("takes the first rule whose ranges and transpose flags match", () => {
    setMatMulOverrides([
      { name: "phi3-decode", batch: [1, 1], M: [1, 8], K: [3072, 8192], program: "smallOutputSize" },
      { name: "weight-grad", transposeA: true, program: "packed", sequentialAccess: true },
      { name: "decode-any", M: [1, 1], program: "reduce" },
    ]);
    expect(chooseMatMul(shape(1, 1, 32064, 3072), 8)).toEqual({
      program: MatMulProgram.smallOutputSize,
      sequentialAccess: undefined,
      rule: "phi3-decode",
    });
    expect(chooseMatMul(shape(1, 1, 64, 100), 8).rule).toBe("decode-any");
    expect(chooseMatMul(shape(1, 192, 768, 12608, true), 8)).toEqual({
      program: MatMulProgram.packed,
      sequentialAccess: true,
      rule: "weight-grad",
    });
    expect(chooseMatMul(shape(1, 192, 768, 12608, false, true), 8)).toEqual({ program: MatMulProgram.packed });
  });

  it("rejects bad rules, naming the rule and the field", () => {
    expect(() => setMatMulOverrides([{ program: "splitK" } as never])).toThrow(
      /override 0.*split-K is not deterministic/,
    );
    expect(() => setMatMulOverrides([{ name: "x", M: [8, 1], program: "packed" }])).toThrow(
      /override 0 \('x'\): M must be \[min, max\]/,
    );
    expect(() => setMatMulOverrides([{ program: "packed", tile: 4 } as never])).toThrow(/unknown field\(s\) tile/);
  });

  it("reads env BIRDVLM_MATMUL_OVERRIDES as inline JSON or a file", () => {
    expect(parseMatMulOverridesEnv(undefined)).toEqual([]);
    expect(parseMatMulOverridesEnv('[{"M":[1,1],"program":"reduce"}]')).toEqual([{ M: [1, 1], program: "reduce" }]);
    const dir = mkdtempSync(join(tmpdir(), "birdvlm-matmul-"));
    try {
      const file = join(dir, "overrides.json");
      const read = (path: string) => readFileSync(path, "utf8");
      writeFileSync(file, '[{"name":"all","program":"packed"}]');
      expect(parseMatMulOverridesEnv(file, read)).toEqual([{ name: "all", program: "packed" }]);
      writeFileSync(file, "{oops");
      expect(() => parseMatMulOverridesEnv(file, read)).toThrow(
        /overrides\.json \(env BIRDVLM_MATMUL_OVERRIDES\): not JSON/,
      );
      expect(() => parseMatMulOverridesEnv(file, null)).toThrow(/a file path needs Node's webgpu backend/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeEachBackend("matmul overrides on webgpu", ["webgpu"], () => {
  afterEach(() => setMatMulOverrides([]));

  it("runs the program a rule names, with the same result as TF.js's choice", async () => {
    const a = seeded([2, 40, 24], 51);
    const b = seeded([24, 36], 52);
    expect(chooseMatMul(shape(2, 40, 36, 24), 8).program).toBe(MatMulProgram.smallOutputSize);
    const reference = await tf.matMul(a, b).data(); // TF.js's choice: few output tiles, so smallOutputSize
    const cache = (tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
    const variants = [
      { program: "packed", sequentialAccess: false, compiles: "matMulPacked_" },
      { program: "packed", sequentialAccess: true, compiles: "matMulPacked_" }, // another pipeline
      { program: "reduce", compiles: "matMulReduce_" },
    ] as const;
    for (const { compiles, ...rule } of variants) {
      setMatMulOverrides([{ name: rule.program, batch: [2, 2], M: [40, 40], ...rule }]);
      const before = new Set(Object.keys(cache));
      const out = await tf.matMul(a, b).data();
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - reference[i]!)).toBeLessThan(1e-5);
      const added = Object.keys(cache).filter((k) => !before.has(k) && k.startsWith("matMul"));
      expect(
        added.map((k) => k.slice(0, compiles.length)),
        rule.program,
      ).toEqual([compiles]);
    }
    tf.dispose([a, b]);
  });
});
