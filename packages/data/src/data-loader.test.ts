import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { tf } from "@birdvlm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { CubDataset } from "./cub-dataset.js";
import { DataLoader } from "./data-loader.js";
import { createImageLoader } from "./image-loader.js";
import { ImagePipeline } from "./image-pipeline.js";

const subset = sharedPath("data/cub-subset-train");

async function collect<B>(it: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("DataLoader", () => {
  const items = Array.from({ length: 23 }, (_, i) => i);

  it("batches in order, with or without the last partial batch", async () => {
    expect(await collect(new DataLoader({ dataset: items, batchSize: 5 }))).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14],
      [15, 16, 17, 18, 19],
      [20, 21, 22],
    ]);
    const dropped = new DataLoader({ dataset: items, batchSize: 5, dropLast: true });
    expect(dropped.length).toBe(4);
    expect((await collect(dropped)).flat()).toEqual(items.slice(0, 20));
  });

  it("shuffles deterministically per seed and epoch, every item once", async () => {
    const make = (seed: number) => new DataLoader({ dataset: items, batchSize: 4, shuffle: true, seed });
    const a = make(1);
    const e0 = (await collect(a)).flat();
    const e1 = (await collect(a)).flat();
    expect([...e0].sort((x, y) => x - y)).toEqual(items);
    expect(e0).not.toEqual(items);
    expect(e1).not.toEqual(e0);
    expect((await collect(make(1))).flat()).toEqual(e0);
    expect((await collect(make(1).epoch(1))).flat()).toEqual(e1);
    expect((await collect(make(2))).flat()).not.toEqual(e0);
  });

  it("gives each item the same generator whatever the concurrency and timing", async () => {
    const run = (concurrency: number, delay: boolean) =>
      collect(
        new DataLoader({
          dataset: items,
          batchSize: 3,
          shuffle: true,
          seed: 5,
          concurrency,
          transform: async (x, { rng, index }) => {
            if (delay) await new Promise((r) => setTimeout(r, (index * 7) % 5));
            return [x, rng.float()];
          },
        }),
      );
    const serial = await run(1, false);
    expect(await run(8, true)).toEqual(serial);
  });

  it("keeps at most `concurrency` items in flight and `prefetch` batches ahead", async () => {
    let inflight = 0;
    let maxInflight = 0;
    let started = 0;
    const loader = new DataLoader({
      dataset: items,
      batchSize: 2,
      prefetch: 2,
      concurrency: 3,
      transform: async (x) => {
        started++;
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        await tick();
        inflight--;
        return x;
      },
    });
    const it = loader[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([0, 1]);
    for (let k = 0; k < 20; k++) await tick();
    // the consumer holds batch 0: batches 1 and 2 are prepared, nothing beyond
    expect(started).toBe(6);
    await it.return!();
    expect(maxInflight).toBe(3);
  });

  it("stops with the error of a failing item, or skips and counts it", async () => {
    const transform = (x: number) => {
      if (x === 7 || x === 12) throw new Error(`bad item ${x}`);
      return x;
    };
    await expect(collect(new DataLoader({ dataset: items, batchSize: 5, transform }))).rejects.toThrow("bad item 7");
    const skipping = new DataLoader({ dataset: items, batchSize: 5, transform, onError: "skip" });
    const batches = await collect(skipping);
    expect(batches.flat()).toEqual(items.filter((x) => x !== 7 && x !== 12));
    expect(skipping.skipped).toBe(2);
    expect(skipping.skippedItems.map((s) => s.index)).toEqual([7, 12]);
  });
});

describe.skipIf(!subset)("createImageLoader on real and corrupt images", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "birdvlm-loader-"));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it("yields ImageBatch and labels, reproducibly, without leaking tensors", async () => {
    const cub = (await CubDataset.open(subset!, { checkFiles: false })).subset([0, 40, 80, 120, 160, 200, 240]);
    const pipeline = new ImagePipeline({ size: 32, mode: "train" });
    const before = tf.memory().numTensors;
    const sums: number[][] = [];
    for (const concurrency of [1, 4]) {
      const loader = createImageLoader({ dataset: cub, pipeline, batchSize: 3, shuffle: true, seed: 2, concurrency });
      const epoch: number[] = [];
      for await (const { images, labels, items } of loader) {
        expect(images.shape).toEqual([items.length, 32, 32, 3]);
        expect(labels.dtype).toBe("int32");
        expect(Array.from(await labels.data())).toEqual(items.map((i) => i.classIndex));
        epoch.push(Array.from(await images.data()).reduce((a, v) => a + v, 0));
        tf.dispose([images, labels]);
      }
      sums.push(epoch);
    }
    expect(sums[1]).toEqual(sums[0]);
    // stopping early leaves no tensor behind: batches become tensors only when handed out
    for await (const b of createImageLoader({ dataset: cub, pipeline, batchSize: 2, prefetch: 3 })) {
      tf.dispose([b.images, b.labels]);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("names a corrupt JPEG, or skips and counts it", async () => {
    const dir = join(root, "cub");
    const src = join(subset!, "CUB_200_2011");
    await cp(
      join(src, "images", "001.Black_footed_Albatross"),
      join(dir, "CUB_200_2011", "images", "001.Black_footed_Albatross"),
      { recursive: true },
    );
    const full = await CubDataset.open(subset!, { checkFiles: false });
    const first = Array.from({ length: full.size }, (_, i) => full.get(i)).filter((im) => im.classId === 1);
    const lines = (f: (im: (typeof first)[number], k: number) => string) => first.map(f).join("\n") + "\n";
    await writeFile(
      join(dir, "CUB_200_2011", "images.txt"),
      lines((im, k) => `${k + 1} ${im.relativePath}`),
    );
    await writeFile(join(dir, "CUB_200_2011", "classes.txt"), "1 001.Black_footed_Albatross\n");
    await writeFile(
      join(dir, "CUB_200_2011", "image_class_labels.txt"),
      lines((_, k) => `${k + 1} 1`),
    );
    await writeFile(
      join(dir, "CUB_200_2011", "train_test_split.txt"),
      lines((_, k) => `${k + 1} 1`),
    );
    const victim = join(dir, "CUB_200_2011", "images", first[4]!.relativePath);
    const bytes = await sharp(first[4]!.path).jpeg().toBuffer();
    await writeFile(victim, bytes.subarray(0, bytes.length >> 1));
    const cub = await CubDataset.open(dir);
    const pipeline = new ImagePipeline({ size: 16 });
    const failing = createImageLoader({ dataset: cub, pipeline, batchSize: 8 });
    await expect(collect(failing)).rejects.toThrow(
      new RegExp(`${first[4]!.relativePath.replace(/[./]/g, "\\$&")}: cannot decode image`),
    );
    const skipping = createImageLoader({ dataset: cub, pipeline, batchSize: 8, onError: "skip" });
    let count = 0;
    for await (const b of skipping) {
      count += b.items.length;
      tf.dispose([b.images, b.labels]);
    }
    expect(count).toBe(cub.size - 1);
    expect(skipping.skipped).toBe(1);
    expect(skipping.skippedItems[0]!.error.message).toContain(victim);
  });
});
