import { describe, expect, it } from "vitest";
import { Rng, tf } from "@birdvlm/core";
import { mixBatch, randomErasing, sampleBeta, softTargetCrossEntropy } from "./batch-augment.js";
import { WeightEma } from "./ema.js";

const batch = () => ({
  images: tf.tidy(() => tf.concat([tf.zeros([1, 8, 8, 3]), tf.ones([1, 8, 8, 3])]) as tf.Tensor4D),
  labels: tf.tensor1d([0, 2], "int32"),
});

describe("batch augmentation", () => {
  it("Beta(a, a) draws lie in (0, 1) with mean 1/2", () => {
    const rng = new Rng(1);
    const xs = Array.from({ length: 2000 }, () => sampleBeta(0.8, rng));
    expect(xs.every((x) => x > 0 && x < 1)).toBe(true);
    expect(xs.reduce((a, b) => a + b) / xs.length).toBeCloseTo(0.5, 1);
  });

  it("mixup blends images and targets with one lambda; targets sum to 1", async () => {
    const { images, labels } = batch();
    const m = mixBatch(images, labels, 3, 0.1, { mixupAlpha: 0.8, cutmixAlpha: 0 }, new Rng(3));
    const px = await m.images.data();
    expect(px[0]).toBeCloseTo(1 - m.lambda, 5); // image 0 (zeros) mixed with image 1 (ones)
    const t = (await m.targets.array()) as number[][];
    for (const row of t) expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    expect(t[0]![0]).toBeCloseTo(m.lambda * (0.9 + 0.1 / 3) + (1 - m.lambda) * (0.1 / 3), 5);
    tf.dispose([images, labels, m.images, m.targets]);
  });

  it("mixes image i with image B-1-i, as timm's flip of the batch", async () => {
    const images = tf.tidy(() => tf.concat([0, 1, 2].map((v) => tf.fill([1, 2, 2, 3], v))) as tf.Tensor4D);
    const labels = tf.tensor1d([0, 1, 2], "int32");
    const m = mixBatch(images, labels, 3, 0, { mixupAlpha: 0.8, cutmixAlpha: 0 }, new Rng(4));
    const px = await m.images.data();
    const l = m.lambda;
    expect([px[0], px[12], px[24]].map((v) => v!)).toEqual([
      expect.closeTo(2 * (1 - l), 5),
      expect.closeTo(1, 5),
      expect.closeTo(2 * l, 5),
    ]);
    const t = (await m.targets.array()) as number[][];
    expect(t[0]![2]).toBeCloseTo(1 - l, 5);
    tf.dispose([images, labels, m.images, m.targets]);
  });

  it("cutmix pastes a box and sets lambda to the area kept", async () => {
    const { images, labels } = batch();
    const m = mixBatch(images, labels, 3, 0, { mixupAlpha: 0, cutmixAlpha: 1 }, new Rng(5));
    const px = await m.images.data();
    let ones = 0;
    for (let i = 0; i < 64; i++) ones += px[i * 3]!;
    expect(ones / 64).toBeCloseTo(1 - m.lambda, 5);
    tf.dispose([images, labels, m.images, m.targets]);
  });

  it("probability 0 leaves the batch as it is; soft-target CE equals the hard one on one-hots", async () => {
    const { images, labels } = batch();
    const m = mixBatch(images, labels, 3, 0, { mixupAlpha: 1, cutmixAlpha: 1, probability: 0 }, new Rng(0));
    expect(m.lambda).toBe(1);
    expect(Array.from(await m.images.data())).toEqual(Array.from(await images.data()));
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0.5, -1, 2],
    ]);
    const soft = softTargetCrossEntropy(logits, m.targets);
    const hard = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits);
    expect((await soft.data())[0]).toBeCloseTo((await hard.data())[0]!, 5);
    tf.dispose([images, labels, m.images, m.targets, logits, soft, hard]);
  });

  it("random erasing changes only rectangles, and nothing when p = 0; no tensors leak", async () => {
    const { images, labels } = batch();
    const before = tf.memory().numTensors;
    const same = randomErasing(images, { probability: 0 }, new Rng(0));
    expect(Array.from(await same.data())).toEqual(Array.from(await images.data()));
    const erased = randomErasing(images, { probability: 1 }, new Rng(2));
    const px = await erased.data();
    const changed = Array.from({ length: 64 }, (_, i) => px[i * 3] !== 0).filter(Boolean).length;
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(64);
    tf.dispose([same, erased]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels]);
  });

  it("WeightEma follows the weights with warmup and swaps the average in and back", async () => {
    const v = tf.variable(tf.scalar(0));
    const ema = new WeightEma([v], 0.9);
    v.assign(tf.scalar(10));
    ema.update(); // decay min(0.9, 1/10) = 0.1: 0.1*0 + 0.9*10
    const seen = await ema.withAverage(async () => (await v.data())[0]);
    expect(seen).toBeCloseTo(9, 5);
    expect((await v.data())[0]).toBe(10);
    ema.dispose();
    v.dispose();
  });
});
