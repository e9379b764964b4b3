import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import { fuzz, mutateBytes, mutateJson, type FuzzRng } from "../../../testing/fuzz.js";
import { VisionTransformer } from "./vision-transformer.js";

/** A saved tiny ViT: its config text, weights file bytes and tensors. */
interface Saved {
  config: string;
  bytes: Uint8Array;
  tensors: Record<string, tf.Tensor>;
}

/** Tensor-level damage: one tensor dropped, renamed, transposed, cut or given another dtype. */
function mutateTensors(
  t: Record<string, tf.Tensor>,
  rng: FuzzRng,
): { tensors: Record<string, tf.Tensor>; made: tf.Tensor[]; what: string } {
  const names = Object.keys(t);
  const name = rng.pick(names);
  const out = { ...t };
  const made: tf.Tensor[] = [];
  const x = t[name]!;
  switch (rng.int(5)) {
    case 0:
      delete out[name];
      return { tensors: out, made, what: `dropped ${name}` };
    case 1:
      delete out[name];
      out[`${name}.x`] = x;
      return { tensors: out, made, what: `renamed ${name}` };
    case 2: {
      const y = x.rank >= 2 ? tf.transpose(x) : tf.reshape(x, [1, ...x.shape]);
      made.push(y);
      out[name] = y;
      return { tensors: out, made, what: `transposed ${name}` };
    }
    case 3: {
      const y = tf.slice(tf.reshape(x, [-1]), 0, Math.max(0, x.size - 1 - rng.int(3)));
      made.push(y);
      out[name] = y;
      return { tensors: out, made, what: `cut ${name}` };
    }
    default: {
      const y = tf.cast(x, "int32");
      made.push(y);
      out[name] = y;
      return { tensors: out, made, what: `${name} as int32` };
    }
  }
}

describe("model folder fuzz: mutated ViT folders end in the loader's own errors, never hang, never leak", () => {
  let root: string;
  const saved: Partial<Record<"timm" | "hf", Saved>> = {};
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "vit-fuzz-"));
    const m = new VisionTransformer(
      { imageSize: 16, patchSize: 8, hiddenSize: 16, depth: 2, numHeads: 2, mlpSize: 32, numClasses: 3 },
      { seed: 9 },
    );
    for (const format of ["timm", "hf"] as const) {
      const dir = join(root, format);
      await m.save(dir, { format });
      saved[format] = {
        config: await readFile(join(dir, "config.json"), "utf8"),
        bytes: await readFile(join(dir, "model.safetensors")),
        tensors: await readSafetensors(join(dir, "model.safetensors")),
      };
    }
    m.dispose();
  });
  afterAll(async () => {
    for (const s of Object.values(saved)) tf.dispose(Object.values(s!.tensors));
    await rm(root, { recursive: true, force: true });
  });

  it("80 folders with a damaged config.json, weights file or tensor", async () => {
    const result = await fuzz(
      "model folder",
      { cases: 80, timeoutMs: 5000, tensors: () => tf.memory().numTensors },
      async (rng, i) => {
        const format = rng.pick(["timm", "hf"] as const);
        const s = saved[format]!;
        const dir = join(root, `case-${i}`);
        await mkdir(dir);
        const configPath = join(dir, "config.json");
        const weightsPath = join(dir, "model.safetensors");
        let what: string;
        let config = s.config;
        let bytes: Uint8Array = s.bytes;
        const kind = rng.int(3);
        if (kind === 0) {
          const m = mutateJson(JSON.parse(s.config), rng);
          config = JSON.stringify(m.value) ?? "null";
          what = `${format} config ${m.what}`;
        } else if (kind === 1) {
          const m = mutateBytes(s.bytes, rng);
          bytes = m.bytes;
          what = `${format} weights ${m.what}`;
        } else {
          const m = mutateTensors(s.tensors, rng);
          await writeSafetensors(weightsPath, m.tensors);
          tf.dispose(m.made);
          bytes = await readFile(weightsPath);
          what = `${format} tensors: ${m.what}`;
        }
        await writeFile(configPath, config);
        await writeFile(weightsPath, bytes);
        return {
          what,
          names: [configPath, weightsPath, dir],
          load: async () => {
            const vit = await VisionTransformer.load(dir);
            // what loads must run: a forward pass of one image at the loaded size
            tf.tidy(() => {
              vit.forward(tf.zeros([1, vit.config.imageSize, vit.config.imageSize, 3]) as tf.Tensor4D);
            });
            return vit;
          },
        };
      },
    );
    expect(result.refused).toBeGreaterThan(25);
    expect(result.loaded).toBeGreaterThan(0);
  }, 120_000);
});
