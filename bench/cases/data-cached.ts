// Input pipeline throughput with the decoded-pixel cache, in images/s: the `data` case's work (512 CUB photos
// spread over all 100 species, random-resized-crop to 224, flip, colour jitter 0.4, ImageNet normalization,
// batches of 32 as ImageBatch tensors) read from a `PixelCache` (stored once at 258 px or less; CUB's photos
// here are 227 px so they are stored as they are) and augmented on uint8 pixels in one pass.
// `data-cache-build` times the one-time decode into the cache. Yardstick: packages/data/scripts/pil_torchvision_bench.py.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "@birdvlm/core";
import { CubDataset, PixelCache, createCachedImageLoader } from "@birdvlm/data";
import { sharedPath } from "../../testing/shared.js";
import { defineCase } from "../harness.js";

const IMAGES = 512;

async function photos(name: string): Promise<CubDataset> {
  const root = sharedPath("data/cub-subset-train");
  if (!root) throw new Error(`bench ${name}: ../shared/data/cub-subset-train is missing`);
  const all = await CubDataset.open(root);
  return all.subset(Array.from({ length: IMAGES }, (_, i) => Math.floor((i * all.size) / IMAGES)));
}

const cached = defineCase({
  name: "data-cached",
  unit: "img/s",
  warmup: 1,
  runs: 5,
  async setup() {
    const dataset = await photos("data-cached");
    const cache = await PixelCache.openOrBuild(
      Array.from({ length: dataset.size }, (_, i) => ({ path: dataset.get(i).path })),
      join(tmpdir(), "birdvlm-bench-data-258.pix"),
      { shorterSide: 258 },
    );
    const loader = createCachedImageLoader({
      dataset,
      cache,
      augment: { size: 224, mode: "train" },
      batchSize: 32,
      shuffle: true,
      seed: 0,
    });
    return {
      async step() {
        let count = 0;
        for await (const { images, labels } of loader) {
          count += images.shape[0];
          tf.dispose([images, labels]);
        }
        return count;
      },
      async dispose() {
        await cache.close();
      },
    };
  },
});

const build = defineCase({
  name: "data-cache-build",
  unit: "img/s",
  warmup: 0,
  runs: 5,
  async setup() {
    const dataset = await photos("data-cache-build");
    const sources = Array.from({ length: dataset.size }, (_, i) => ({ path: dataset.get(i).path }));
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-bench-cache-"));
    return {
      async step() {
        await PixelCache.build(sources, join(dir, "c.pix"), { shorterSide: 74 });
        return sources.length;
      },
      async dispose() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});

export default [cached, build];
