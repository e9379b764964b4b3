import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ParameterInit, openSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import { ConvStemPatchEmbed } from "./conv-stem-patch-embed.js";
import { StemPatchEmbed } from "./stem-patch-embed.js";
import { weightsInfo } from "./load.js";
import { VisionTransformer } from "./vision-transformer.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Random values in every parameter, the LayerNorms' included (they start at ones and zeros). */
function randomize(embed: ConvStemPatchEmbed, seed: number): void {
  embed.namedParameters().forEach(([, v], i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", seed + i)));
}

/** The stem as PyTorch runs it: padded stride-2 NHWC convolutions, exact GELU, LayerNorm over channels. */
function reference(embed: ConvStemPatchEmbed, images: tf.Tensor4D, params: Record<string, tf.Tensor>): tf.Tensor {
  const conv = (x: tf.Tensor4D, name: string, kernel: number, stride: number, pad: number) => {
    const w = StemPatchEmbed.toReference(tf.transpose(params[`${name}.weight`]!), kernel); // [O, I, k, k]
    const filter = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D; // HWIO
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ];
    return tf.add(tf.conv2d(x, filter, stride, padding), params[`${name}.bias`]!) as tf.Tensor4D;
  };
  let x = images;
  embed.stemWidths.forEach((_, i) => {
    const z = conv(x, `stem.${i}.proj`, 3, 2, 1);
    const y = tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.div(z, Math.SQRT2))));
    const { mean, variance } = tf.moments(y, -1, true);
    x = tf.add(
      tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-6))), params[`stem.${i}.norm.weight`]!),
      params[`stem.${i}.norm.bias`]!,
    ) as tf.Tensor4D;
  });
  const out = conv(x, "proj", embed.lastKernel, embed.lastKernel, 0);
  const [b, gh, gw, d] = out.shape;
  return tf.reshape(out, [b, gh * gw, d]);
}

describe("ConvStemPatchEmbed", () => {
  for (const [patch, widths] of [
    [8, [5, 7, 4]],
    [8, [5, 7]],
    [4, [6]],
  ] as const) {
    it(`equals padded stride-2 3x3 convolutions with GELUs and norms, values and gradients (patch ${patch}, stem [${widths}])`, () => {
      const embed = new ConvStemPatchEmbed(patch, 3, widths, 6, 1e-6, new ParameterInit(1));
      randomize(embed, 10);
      const images = tf.randomNormal([2, 2 * patch, 3 * patch, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      const named = embed.namedParameters();
      const vars = named.map(([, v]) => v);
      const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), tf.sin(tf.reshape(tf.range(0, 36), [1, 6, 6]))));
      const got = tf.variableGrads(loss(() => embed.forward(images)) as () => tf.Scalar, vars);
      const want = tf.variableGrads(
        loss(() => reference(embed, images, Object.fromEntries(named))) as () => tf.Scalar,
        vars,
      );
      expect(Math.abs(got.value.dataSync()[0]! - want.value.dataSync()[0]!)).toBeLessThan(1e-3);
      for (const [name, v] of named) {
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got.grads[v.name]!, want.grads[v.name]!))).dataSync()[0]!);
        const scale = tf.tidy(() => tf.max(tf.abs(want.grads[v.name]!)).dataSync()[0]!);
        expect(diff, name).toBeLessThan(1e-4 * Math.max(1, scale));
      }
      tf.dispose([images, got.value, want.value, ...Object.values(got.grads), ...Object.values(want.grads)]);
      embed.dispose();
    });
  }
});

describe("VisionTransformer with a convolutional stem", () => {
  const config = {
    imageSize: 32,
    patchSize: 8,
    stemWidths: [6, 10],
    stemKernel: 3,
    hiddenSize: 16,
    depth: 1,
    numHeads: 2,
    mlpSize: 32,
    numClasses: 4,
  };

  it("saves the stem as [Cout, Cin, 3, 3] convolutions, reloads to the same logits, and names a wrong kernel", async () => {
    const vit = new VisionTransformer(config, { seed: 5 });
    expect(vit.patch_embed).toBeInstanceOf(ConvStemPatchEmbed);
    const dir = await mkdtemp(join(tmpdir(), "convstem-"));
    dirs.push(dir);
    await vit.save(dir);
    const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(json).toMatchObject({ stem_widths: [6, 10], stem_kernel: 3 });
    const file = await openSafetensors(join(dir, "model.safetensors"));
    expect(file.info("patch_embed.stem.0.proj.weight").shape).toEqual([6, 3, 3, 3]);
    expect(file.info("patch_embed.stem.1.proj.weight").shape).toEqual([10, 6, 3, 3]);
    expect(file.info("patch_embed.proj.weight").shape).toEqual([16, 10, 2, 2]);
    await file.close();

    const back = await VisionTransformer.load(dir);
    expect(back.config).toMatchObject({ stemWidths: [6, 10], stemKernel: 3 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const [a, b] = [vit.classify(x), back.classify(x)];
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
    const dict = vit.stateDict();
    expect(weightsInfo(dict)).toMatchObject({ stemWidths: [6, 10], stemKernel: 3, patchSize: 8 });

    const hmlpWeights = tf.zeros([10, 6, 2, 2]);
    await writeSafetensors(join(dir, "model.safetensors"), { ...dict, "patch_embed.stem.1.proj.weight": hmlpWeights });
    await expect(VisionTransformer.load(dir)).rejects.toThrow(
      /patch_embed\.stem\.1\.proj\.weight': expected \[10, 6, 3, 3\] \(stem_widths \[6, 10\], stem_kernel 3.*\), got \[10, 6, 2, 2\]/,
    );
    tf.dispose([x, a, b, hmlpWeights, ...Object.values(dict)]);
    vit.dispose();
    back.dispose();
  });

  it("needs stem widths for kernel 3, and takes only 2 or 3", () => {
    expect(() => new VisionTransformer({ ...config, stemWidths: [] })).toThrow(/stemKernel 3 .* needs stemWidths/);
    expect(() => new VisionTransformer({ ...config, stemKernel: 5 })).toThrow(/stemKernel must be 2 .* or 3/);
  });
});
