import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ParameterInit, tf, writeSafetensors, openSafetensors } from "@birdvlm/core";
import { HierarchicalPatchEmbed } from "./hierarchical-patch-embed.js";
import { VisionTransformer } from "./vision-transformer.js";
import { weightsInfo } from "./load.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Random values in every parameter, the LayerNorms' included (they start at ones and zeros). */
function randomize(embed: HierarchicalPatchEmbed, seed: number): void {
  embed.namedParameters().forEach(([, v], i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", seed + i)));
}

/** The same stem written as PyTorch would run it: strided NHWC convolutions, LayerNorm over channels, exact GELU. */
function reference(embed: HierarchicalPatchEmbed, images: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const params = Object.fromEntries(embed.namedParameters());
    const conv = (x: tf.Tensor4D, name: string, kernel: number) => {
      const w = HierarchicalPatchEmbed.toReference(tf.transpose(params[`${name}.weight`]!), kernel); // [O, I, k, k]
      const filter = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D; // HWIO
      return tf.add(tf.conv2d(x, filter, kernel, "valid"), params[`${name}.bias`]!) as tf.Tensor4D;
    };
    let x = images;
    embed.stemWidths.forEach((_, i) => {
      const y = conv(x, `stem.${i}.proj`, 2);
      const { mean, variance } = tf.moments(y, -1, true);
      const normed = tf.add(
        tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-6))), params[`stem.${i}.norm.weight`]!),
        params[`stem.${i}.norm.bias`]!,
      );
      x = tf.mul(tf.mul(normed, 0.5), tf.add(1, tf.erf(tf.div(normed, Math.SQRT2)))) as tf.Tensor4D;
    });
    const out = conv(x, "proj", embed.lastKernel);
    const [b, gh, gw, d] = out.shape;
    return tf.reshape(out, [b, gh * gw, d]);
  });
}

describe("HierarchicalPatchEmbed", () => {
  for (const [patch, widths] of [
    [8, [5, 7]],
    [4, [5, 7]],
    [16, [4]],
    [8, [3, 4, 6]],
  ] as const) {
    it(`equals strided convolutions with norms and GELUs (patch ${patch}, stem [${widths}])`, () => {
      const embed = new HierarchicalPatchEmbed(patch, 3, widths, 6, 1e-6, new ParameterInit(1));
      randomize(embed, 10);
      const images = tf.randomNormal([2, 2 * patch, 3 * patch, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      const got = embed.forward(images);
      const want = reference(embed, images);
      expect(got.shape).toEqual([2, 6, 6]);
      expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-4);
      tf.dispose([images, got, want]);
      embed.dispose();
    });
  }

  it("rejects a patch that the stem stages do not halve evenly, and images of the wrong size", () => {
    expect(() => new HierarchicalPatchEmbed(6, 3, [4, 4], 8, 1e-6, new ParameterInit(1))).toThrow(/multiple of 2\^2/);
    const embed = new HierarchicalPatchEmbed(8, 3, [4], 8, 1e-6, new ParameterInit(1));
    const odd = tf.zeros([1, 12, 16, 3]) as tf.Tensor4D;
    expect(() => embed.forward(odd)).toThrow(/12x16 is not a multiple of the patch size 8/);
    odd.dispose();
    embed.dispose();
  });
});

describe("VisionTransformer with stemWidths", () => {
  const config = {
    imageSize: 32,
    patchSize: 8,
    stemWidths: [6, 10],
    hiddenSize: 16,
    depth: 1,
    numHeads: 2,
    mlpSize: 32,
    numClasses: 4,
  };

  it("saves the stem as [Cout, Cin, 2, 2] convolutions, reloads to the same logits, and trains every stem weight", async () => {
    const vit = new VisionTransformer(config, { seed: 5 });
    const dir = await mkdtemp(join(tmpdir(), "hmlp-"));
    dirs.push(dir);
    await vit.save(dir);
    const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(json.stem_widths).toEqual([6, 10]);
    const file = await openSafetensors(join(dir, "model.safetensors"));
    expect(file.info("patch_embed.stem.0.proj.weight").shape).toEqual([6, 3, 2, 2]);
    expect(file.info("patch_embed.stem.1.proj.weight").shape).toEqual([10, 6, 2, 2]);
    expect(file.info("patch_embed.proj.weight").shape).toEqual([16, 10, 2, 2]);
    await file.close();

    const back = await VisionTransformer.load(dir);
    expect(back.config.stemWidths).toEqual([6, 10]);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const a = vit.classify(x);
    const b = back.classify(x);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);

    const before = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(vit.forward(x, { training: true }).logits!)));
    const stem = vit.namedParameters().filter(([n]) => n.includes("stem"));
    expect(stem.length).toBe(4 * 2 /* proj weight, bias; norm weight, bias per stage */);
    for (const [, v] of stem) expect(tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, a, b]);
    vit.dispose();
    back.dispose();
  });

  it("reads the stem's widths from the weights, and names a stem tensor of the wrong shape", async () => {
    const vit = new VisionTransformer(config, { seed: 5 });
    const dict = vit.stateDict();
    expect(weightsInfo(dict)).toMatchObject({ stemWidths: [6, 10], patchSize: 8, numChannels: 3, hiddenSize: 16 });
    await expect(vit.save("/nonexistent", { format: "hf" })).rejects.toThrow(/no hierarchical stem/);

    const dir = await mkdtemp(join(tmpdir(), "hmlp-bad-"));
    dirs.push(dir);
    await vit.save(dir);
    const bad = tf.zeros([10, 5, 2, 2]);
    await writeSafetensors(join(dir, "model.safetensors"), { ...dict, "patch_embed.stem.1.proj.weight": bad });
    await expect(VisionTransformer.load(dir)).rejects.toThrow(
      /patch_embed\.stem\.1\.proj\.weight': expected \[10, 6, 2, 2\] \(stem_widths \[6, 10\].*\), got \[10, 5, 2, 2\]/,
    );
    tf.dispose([bad, ...Object.values(dict)]);
    vit.dispose();
  });
});
