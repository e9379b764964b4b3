import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ParameterInit, openSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import { TokenDepthwiseConv } from "./token-depthwise-conv.js";
import { VisionTransformer } from "./vision-transformer.js";
import { weightsInfo } from "./load.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * PyTorch's `Conv2d(C, C, k, padding=k // 2, groups=C)` on the patch tokens written out as loops (cross-correlation,
 * weight `[C, 1, k, k]`, zeros outside the grid), prefix tokens copied.
 */
function reference(conv: TokenDepthwiseConv, tokens: tf.Tensor3D, rows: number, cols: number): Float64Array {
  const [B, T, C] = tokens.shape;
  const x = tokens.dataSync();
  const w = conv.weight.dataSync();
  const bias = conv.bias.dataSync();
  const k = conv.kernel;
  const r = Math.floor(k / 2);
  const prefix = T - rows * cols;
  const out = new Float64Array(x);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++)
        for (let c = 0; c < C; c++) {
          let acc = bias[c]!;
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) {
              const y = i + dy - r;
              const xx = j + dx - r;
              if (y < 0 || y >= rows || xx < 0 || xx >= cols) continue;
              acc += x[(b * T + prefix + y * cols + xx) * C + c]! * w[(c * k + dy) * k + dx]!;
            }
          out[(b * T + prefix + i * cols + j) * C + c] = acc;
        }
  return out;
}

describe("TokenDepthwiseConv", () => {
  for (const [k, prefix, rows, cols] of [
    [3, 1, 4, 5],
    [3, 0, 3, 3],
    [5, 2, 4, 4],
  ] as const) {
    it(`equals PyTorch's depthwise Conv2d written as loops (k ${k}, ${prefix} prefix tokens, ${rows} x ${cols})`, () => {
      const conv = new TokenDepthwiseConv(6, k, new ParameterInit(3, { linear: "uniform" }));
      const tokens = tf.randomNormal([2, prefix + rows * cols, 6], 0, 1, "float32", 4) as tf.Tensor3D;
      const got = conv.forward(tokens, { rows, cols, prefix }).dataSync();
      const want = reference(conv, tokens, rows, cols);
      expect(got.length).toBe(want.length);
      const worst = want.reduce((m, q, i) => Math.max(m, Math.abs(q - got[i]!)), 0);
      expect(worst).toBeLessThan(1e-5);
      // With the GELU: the same values through an exact GELU, prefix tokens included.
      const withGelu = conv.forward(tokens, { rows, cols, prefix }, { activation: "gelu" }).dataSync();
      const erf = (z: number) => {
        // Abramowitz-Stegun 7.1.26 is too coarse; integrate erf's series instead (|z| is small here).
        let sum = 0;
        let term = z;
        for (let n = 0; n < 60; n++) {
          sum += term / (2 * n + 1);
          term *= (-z * z) / (n + 1);
        }
        return (2 / Math.sqrt(Math.PI)) * sum;
      };
      const worstGelu = want.reduce(
        (m, q, i) => Math.max(m, Math.abs(0.5 * q * (1 + erf(q / Math.SQRT2)) - withGelu[i]!)),
        0,
      );
      expect(worstGelu).toBeLessThan(1e-5);
      tf.dispose(tokens);
      conv.dispose();
    });
  }

  it("names the tokens that do not fit the grid", () => {
    const conv = new TokenDepthwiseConv(6, 3, new ParameterInit(3));
    const tokens = tf.zeros([1, 10, 6]) as tf.Tensor3D;
    expect(() => conv.forward(tokens, { rows: 3, cols: 3, prefix: 0 })).toThrow(
      /tokens \[1,10,6\] do not fit 0 prefix tokens \+ a 3 x 3 grid of 6 channels/,
    );
    tokens.dispose();
    conv.dispose();
  });
});

describe("VisionTransformer with mlpConvKernel", () => {
  const config = { imageSize: 32, patchSize: 8, hiddenSize: 16, depth: 2, numHeads: 2, mlpSize: 32, numClasses: 4 };

  it("saves mlp.dwconv as [C, 1, k, k] with mlp_conv_kernel, reloads to the same logits, and trains it", async () => {
    const vit = new VisionTransformer({ ...config, mlpConvKernel: 3, pooling: "attention" }, { seed: 5 });
    const dir = await mkdtemp(join(tmpdir(), "convmlp-"));
    dirs.push(dir);
    await vit.save(dir);
    const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(json.mlp_conv_kernel).toBe(3);
    const file = await openSafetensors(join(dir, "model.safetensors"));
    expect(file.info("blocks.1.mlp.dwconv.weight").shape).toEqual([32, 1, 3, 3]);
    expect(file.info("blocks.1.mlp.dwconv.bias").shape).toEqual([32]);
    await file.close();

    const back = await VisionTransformer.load(dir);
    expect(back.config.mlpConvKernel).toBe(3);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const a = vit.classify(x);
    const b = back.classify(x);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);

    const before = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(vit.forward(x, { training: true }).logits!)));
    const dw = vit.namedParameters().filter(([n]) => n.includes("mlp.dwconv."));
    expect(dw.map(([n]) => n).sort()).toEqual([
      "blocks.0.mlp.dwconv.bias",
      "blocks.0.mlp.dwconv.weight",
      "blocks.1.mlp.dwconv.bias",
      "blocks.1.mlp.dwconv.weight",
    ]);
    for (const [, v] of dw) expect(tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, a, b]);
    vit.dispose();
    back.dispose();
  });

  it("is read from the weights, refuses the Hugging Face format and an even kernel", async () => {
    const vit = new VisionTransformer({ ...config, mlpConvKernel: 3 }, { seed: 5 });
    const dict = vit.stateDict();
    expect(weightsInfo(dict)).toMatchObject({ mlpConvKernel: 3, mlpSize: 32 });
    await expect(vit.save("/nonexistent", { format: "hf" })).rejects.toThrow(/no convolutional MLP/);
    expect(() => new VisionTransformer({ ...config, mlpConvKernel: 2 })).toThrow(/mlpConvKernel must be 0 .* odd/);
    const plain = new VisionTransformer(config, { seed: 5 });
    const plainDict = plain.stateDict();
    expect(weightsInfo(plainDict).mlpConvKernel).toBe(0);
    // A config.json that states the convolution over weights without it: the missing tensor is named.
    const dir = await mkdtemp(join(tmpdir(), "convmlp-bad-"));
    dirs.push(dir);
    await vit.save(dir);
    await writeSafetensors(join(dir, "model.safetensors"), plainDict);
    await expect(VisionTransformer.load(dir)).rejects.toThrow(
      /blocks\.0\.mlp\.dwconv\.weight': expected \[32, 1, 3, 3\] \(mlp_conv_kernel 3\), got nothing/,
    );
    tf.dispose([...Object.values(dict), ...Object.values(plainDict)]);
    vit.dispose();
    plain.dispose();
  });
});
