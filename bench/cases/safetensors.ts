// Loading weights: reading a 128 MiB BF16 safetensors file (8 tensors of 8M elements, the dtype of the
// published Phi-3 shards) into float32 tensors, and writing the same as F32, in MB (1e6 bytes) of file per
// second. The file sits in the OS page cache after the untimed warmup, so this measures decoding and tensor
// creation, not the disk.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSafetensors, storeAs, tf, writeSafetensors } from "@birdvlm/core";
import { defineCase, type BenchCase } from "../harness.js";

const TENSORS = 8;
const ELEMENTS = 8 * 1024 * 1024;

function randomWeights(): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (let i = 0; i < TENSORS; i++)
    out[`layers.${i}.weight`] = tf.randomNormal([ELEMENTS / 1024, 1024], 0, 0.02, "float32", i);
  return out;
}

const read = defineCase({
  name: "safetensors-read-bf16",
  unit: "MB/s",
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), "bench-st-"));
    const path = join(dir, "weights.safetensors");
    const weights = randomWeights();
    await writeSafetensors(path, Object.fromEntries(Object.entries(weights).map(([n, t]) => [n, storeAs(t, "BF16")])));
    tf.dispose(Object.values(weights));
    const reader = await openSafetensors(path);
    return {
      async step() {
        for (const name of reader.names()) {
          const t = await reader.read(name);
          t.dispose();
        }
        return (TENSORS * ELEMENTS * 2) / 1e6;
      },
      async dispose() {
        await reader.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

const write = defineCase({
  name: "safetensors-write-f32",
  unit: "MB/s",
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), "bench-st-"));
    const weights = randomWeights();
    return {
      async step() {
        await writeSafetensors(join(dir, "weights.safetensors"), weights);
        return (TENSORS * ELEMENTS * 4) / 1e6;
      },
      dispose() {
        tf.dispose(Object.values(weights));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

export default [read, write] satisfies BenchCase[];
