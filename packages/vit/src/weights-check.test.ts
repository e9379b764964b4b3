import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import type { ViTConfig } from "./config.js";
import { VisionTransformer } from "./vision-transformer.js";

const small: Partial<ViTConfig> = {
  imageSize: 32,
  patchSize: 8,
  hiddenSize: 24,
  depth: 3,
  numHeads: 2,
  mlpSize: 48,
  numClasses: 5,
};

describe("a model folder that disagrees with itself does not load", () => {
  let root: string;
  let n = 0;
  const saved: Record<"timm" | "hf", { config: string; weights: Record<string, tf.Tensor> }> = {} as never;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "vit-weights-check-"));
    const m = new VisionTransformer(small, { seed: 5 });
    for (const format of ["timm", "hf"] as const) {
      const dir = join(root, `saved-${format}`);
      await m.save(dir, { format });
      saved[format] = {
        config: await readFile(join(dir, "config.json"), "utf8"),
        weights: await readSafetensors(join(dir, "model.safetensors")),
      };
    }
    m.dispose();
  });
  afterAll(async () => {
    for (const s of Object.values(saved)) tf.dispose(Object.values(s.weights));
    await rm(root, { recursive: true, force: true });
  });

  /** A folder of the saved model with its weights edited (`edit` returns the tensors to write). */
  async function folder(
    format: "timm" | "hf",
    edit: (w: Record<string, tf.Tensor>, made: tf.Tensor[]) => Record<string, tf.Tensor>,
    config?: (c: Record<string, any>) => void,
  ): Promise<string> {
    const dir = join(root, `case-${n++}`);
    await mkdir(dir);
    const made: tf.Tensor[] = [];
    const json = JSON.parse(saved[format].config);
    config?.(json);
    await writeSafetensors(join(dir, "model.safetensors"), edit({ ...saved[format].weights }, made));
    await writeFile(join(dir, "config.json"), JSON.stringify(json));
    tf.dispose(made);
    return dir;
  }

  /** Loading `dir` fails with `message`, and the failed load leaves no tensor behind. */
  async function refuses(dir: string, message: RegExp): Promise<void> {
    const before = tf.memory().numTensors;
    await expect(VisionTransformer.load(dir)).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  }

  const drop = (names: RegExp) => (w: Record<string, tf.Tensor>) =>
    Object.fromEntries(Object.entries(w).filter(([k]) => !names.test(k)));

  it("a missing last block: names the block, depth and file (it used to load as a shallower model)", async () => {
    const dir = await folder("timm", drop(/^blocks\.2\./));
    await refuses(
      dir,
      /model\.safetensors disagrees with .*config\.json: blocks 2\.\.2 are missing \(depth 3\): no tensor 'blocks\.2\.norm1\.weight'/,
    );
    const hf = await folder("hf", drop(/encoder\.layer\.2\./));
    await refuses(
      hf,
      /blocks 2\.\.2 are missing \(num_hidden_layers 3\): no tensor 'vit\.encoder\.layer\.2\.layernorm_before\.weight'/,
    );
  });

  it("a missing head: names head.weight with the shape num_classes implies (it used to give 0 classes)", async () => {
    await refuses(
      await folder("timm", drop(/^head\./)),
      /tensor 'head\.weight': expected \[5, 24\] \(num_classes 5\), got nothing/,
    );
    // only the weight missing: blamed, not the bias that is still there
    await refuses(
      await folder("timm", drop(/^head\.weight$/)),
      /tensor 'head\.weight': expected \[5, 24\] \(num_classes 5\), got nothing/,
    );
    await refuses(
      await folder("hf", drop(/^classifier\./)),
      /tensor 'classifier\.weight': expected \[5, 24\] \(architectures \['ViTForImageClassification'\] with 5 labels\), got nothing/,
    );
  });

  it("config fields that disagree with the weights are each named", async () => {
    await refuses(
      await folder(
        "timm",
        (w) => w,
        (c) => ((c.model_args.embed_dim = 32), (c.model_args.img_size = 48)),
      ),
      /tensor 'patch_embed\.proj\.weight': expected \[32, 3, 8, 8\] \(embed_dim 32, in_chans 3, patch_size 8\), got \[24, 3, 8, 8\].*pos_embed.*4x4 patch grid, expected 6x6 \(img_size 48/,
    );
    await refuses(
      await folder(
        "hf",
        (w) => w,
        (c) => (c.intermediate_size = 64),
      ),
      /tensor 'vit\.encoder\.layer\.0\.intermediate\.dense\.weight': expected \[64, 24\] \(intermediate_size 64\), got \[48, 24\]/,
    );
  });

  it("a transposed fc1 is blamed alone, with both shapes", async () => {
    const dir = await folder("timm", (w, made) => {
      const t = tf.transpose(w["blocks.0.mlp.fc1.weight"]!);
      made.push(t);
      return { ...w, "blocks.0.mlp.fc1.weight": t };
    });
    await refuses(
      dir,
      /disagrees with .*: tensor 'blocks\.0\.mlp\.fc1\.weight': expected \[48, 24\] \(mlp_ratio 2\), got \[24, 48\]$/,
    );
  });

  it("a missing cls_token names the file", async () => {
    await refuses(
      await folder("timm", drop(/^cls_token$/)),
      /model\.safetensors disagrees with .*config\.json: tensor 'cls_token': expected \[1, 1, 24\] \(class_token true\), got nothing/,
    );
  });

  it("Hugging Face query/key/value of different shapes name the layer and the file (not a tfjs concat error)", async () => {
    const dir = await folder("hf", (w, made) => {
      const t = tf.zeros([24, 20]);
      made.push(t);
      return { ...w, "vit.encoder.layer.1.attention.attention.key.weight": t };
    });
    await refuses(
      dir,
      /model\.safetensors: layer 1's query\/key\/value weights must have one \[D, D\] shape: .*key\.weight' \[24, 20\]/,
    );
  });

  it("a wrong shape inside a later block is named by loadStateDict with the file, and nothing leaks", async () => {
    const dir = await folder("timm", (w, made) => {
      const t = tf.zeros([20]);
      made.push(t);
      return { ...w, "blocks.1.norm2.weight": t };
    });
    await refuses(dir, /model\.safetensors.*blocks\.1\.norm2\.weight: expected \[24\], got \[20\]/);
  });
});
