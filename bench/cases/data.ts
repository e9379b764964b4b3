// Input pipeline throughput in images/s:
// - `data`: CUB photos (../shared/data/cub-subset-train) decoded, random-resized-cropped to 224x224, flipped,
//   colour-jittered and normalized into ImageBatch tensors by @birdvlm/data's DataLoader (batch 32).
//   The yardstick, PIL + torchvision on the same files: packages/data/scripts/pil_torchvision_bench.py.
// - `data-synthbirds`: SynthBirds pictures drawn, rendered and written (20 species x 12 pictures at 96 px).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "@birdvlm/core";
import { CubDataset, createImageLoader, generateSynthBirds, ImagePipeline } from "@birdvlm/data";
import { sharedPath } from "../../testing/shared.js";
import { defineCase } from "../harness.js";

const IMAGES_PER_RUN = 512;

const pipeline = defineCase({
  name: "data",
  unit: "img/s",
  warmup: 1,
  runs: 5,
  async setup() {
    const root = sharedPath("data/cub-subset-train");
    if (!root) throw new Error("bench data: ../shared/data/cub-subset-train is missing");
    const all = await CubDataset.open(root);
    // A fixed spread of 512 photos over all 100 species; every run is a new epoch (new order, new augmentations).
    const dataset = all.subset(
      Array.from({ length: IMAGES_PER_RUN }, (_, i) => Math.floor((i * all.size) / IMAGES_PER_RUN)),
    );
    const loader = createImageLoader({
      dataset,
      pipeline: new ImagePipeline({ size: 224, mode: "train" }),
      batchSize: 32,
      shuffle: true,
      seed: 0,
      prefetch: 2,
      concurrency: 4,
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
    };
  },
});

const synth = defineCase({
  name: "data-synthbirds",
  unit: "img/s",
  warmup: 1,
  runs: 5,
  async setup() {
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-bench-synth-"));
    let run = 0;
    return {
      async step() {
        const s = await generateSynthBirds(join(dir, String(run++)), {
          species: 20,
          imagesPerSpecies: 12,
          imageSize: 96,
        });
        return s.images;
      },
      async dispose() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});

export default [pipeline, synth];
