import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ParameterInit, openSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import { ShiftedPatchEmbed } from "./shifted-patch-embed.js";
import { VisionTransformer } from "./vision-transformer.js";
import { weightsInfo } from "./load.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * The paper's tokenization written out with plain loops: pad by s, take the four diagonal shifts
 * (left-up, right-up, left-down, right-down, in the order of the paper's code), concatenate them after the
 * image along the channels, flatten each patch in (channel, row, column) order, LayerNorm, then `x · W + b`.
 */
function reference(embed: ShiftedPatchEmbed, images: tf.Tensor4D): Float64Array {
  const [B, H, W, C] = images.shape;
  const x = images.arraySync();
  const p = embed.patchSize;
  const s = Math.floor(p / 2);
  const params = Object.fromEntries(embed.namedParameters().map(([n, v]) => [n, v.dataSync()]));
  const gamma = params["norm.weight"]!;
  const beta = params["norm.bias"]!;
  const w = params["proj.weight"]!; // [5C*p*p, D]
  const bias = params["proj.bias"]!;
  const D = embed.dim;
  const K = 5 * C * p * p;
  // Copy k reads the padded image from (top, left); 0 is the image itself.
  const offsets = [
    [s, s],
    [0, 0],
    [0, 2 * s],
    [2 * s, 0],
    [2 * s, 2 * s],
  ];
  const pixel = (b: number, copy: number, y: number, xx: number, c: number): number => {
    const [top, left] = offsets[copy]!;
    const py = y + top - s;
    const px = xx + left - s;
    return py < 0 || py >= H || px < 0 || px >= W ? 0 : x[b]![py]![px]![c]!;
  };
  const gh = H / p;
  const gw = W / p;
  const out = new Float64Array(B * gh * gw * D);
  const v = new Float64Array(K);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < gh; i++)
      for (let j = 0; j < gw; j++) {
        let k = 0;
        for (let copy = 0; copy < 5; copy++)
          for (let c = 0; c < C; c++)
            for (let dy = 0; dy < p; dy++)
              for (let dx = 0; dx < p; dx++) v[k++] = pixel(b, copy, i * p + dy, j * p + dx, c);
        const mean = v.reduce((a, q) => a + q, 0) / K;
        const variance = v.reduce((a, q) => a + (q - mean) ** 2, 0) / K;
        const token = (b * gh + i) * gw + j;
        for (let d = 0; d < D; d++) {
          let acc = bias[d]!;
          for (let q = 0; q < K; q++)
            acc += (((v[q]! - mean) / Math.sqrt(variance + 1e-6)) * gamma[q]! + beta[q]!) * w[q * D + d]!;
          out[token * D + d] = acc;
        }
      }
  return out;
}

describe("ShiftedPatchEmbed", () => {
  for (const [patch, channels] of [
    [4, 3],
    [8, 1],
    [3, 2],
  ] as const) {
    it(`equals the paper's shifts, patch norm and projection written as loops (patch ${patch}, ${channels} channels)`, () => {
      const embed = new ShiftedPatchEmbed(patch, channels, 5, 1e-6, new ParameterInit(1));
      embed.namedParameters().forEach(([, v], i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", 10 + i)));
      const images = tf.randomNormal([2, 2 * patch, 3 * patch, channels], 0, 1, "float32", 2) as tf.Tensor4D;
      const got = embed.forward(images);
      expect(got.shape).toEqual([2, 6, 5]);
      const want = reference(embed, images);
      const g = got.dataSync();
      const worst = want.reduce((m, q, i) => Math.max(m, Math.abs(q - g[i]!)), 0);
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([images, got]);
      embed.dispose();
    });
  }

  it("rejects a patch with no half-patch shift and images of the wrong size or channels", () => {
    expect(() => new ShiftedPatchEmbed(1, 3, 8, 1e-6, new ParameterInit(1))).toThrow(/no half-patch shift/);
    const embed = new ShiftedPatchEmbed(8, 3, 8, 1e-6, new ParameterInit(1));
    const odd = tf.zeros([1, 12, 16, 3]) as tf.Tensor4D;
    expect(() => embed.forward(odd)).toThrow(/12x16 is not a multiple of the patch size 8/);
    const gray = tf.zeros([1, 16, 16, 1]) as tf.Tensor4D;
    expect(() => embed.forward(gray)).toThrow(/1 channels, the model expects 3/);
    tf.dispose([odd, gray]);
    embed.dispose();
  });
});

describe("VisionTransformer with shiftedPatches", () => {
  const config = {
    imageSize: 32,
    patchSize: 8,
    shiftedPatches: true,
    hiddenSize: 16,
    depth: 1,
    numHeads: 2,
    mlpSize: 32,
    numClasses: 4,
  };

  it("saves [D, 5C, p, p] with shifted_patches, reloads to the same logits, and trains the tokenization", async () => {
    const vit = new VisionTransformer(config, { seed: 5 });
    const dir = await mkdtemp(join(tmpdir(), "spt-"));
    dirs.push(dir);
    await vit.save(dir);
    const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(json.shifted_patches).toBe(true);
    const file = await openSafetensors(join(dir, "model.safetensors"));
    expect(file.info("patch_embed.proj.weight").shape).toEqual([16, 15, 8, 8]);
    expect(file.info("patch_embed.norm.weight").shape).toEqual([960]);
    await file.close();

    const back = await VisionTransformer.load(dir);
    expect(back.config.shiftedPatches).toBe(true);
    expect(back.config.numChannels).toBe(3);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const a = vit.classify(x);
    const b = back.classify(x);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);

    const before = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(vit.forward(x, { training: true }).logits!)));
    const tokenization = vit.namedParameters().filter(([n]) => n.startsWith("patch_embed."));
    expect(tokenization.map(([n]) => n).sort()).toEqual([
      "patch_embed.norm.bias",
      "patch_embed.norm.weight",
      "patch_embed.proj.bias",
      "patch_embed.proj.weight",
    ]);
    for (const [, v] of tokenization)
      expect(tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, a, b]);
    vit.dispose();
    back.dispose();
  });

  it("is read from the weights, refuses the Hugging Face format, and names a projection of the wrong shape", async () => {
    const vit = new VisionTransformer(config, { seed: 5 });
    const dict = vit.stateDict();
    expect(weightsInfo(dict)).toMatchObject({ shiftedPatches: true, patchSize: 8, numChannels: 3, hiddenSize: 16 });
    await expect(vit.save("/nonexistent", { format: "hf" })).rejects.toThrow(/no shifted patch tokenization/);
    expect(() => new VisionTransformer({ ...config, stemWidths: [4] })).toThrow(/shiftedPatches needs a plain patch/);

    const dir = await mkdtemp(join(tmpdir(), "spt-bad-"));
    dirs.push(dir);
    await vit.save(dir);
    const bad = tf.zeros([16, 3, 8, 8]);
    await writeSafetensors(join(dir, "model.safetensors"), { ...dict, "patch_embed.proj.weight": bad });
    await expect(VisionTransformer.load(dir)).rejects.toThrow(
      /patch_embed\.proj\.weight': expected \[16, 15, 8, 8\] \(.*shifted_patches true\), got \[16, 3, 8, 8\]/,
    );
    tf.dispose([bad, ...Object.values(dict)]);
    vit.dispose();
  });
});
