import { describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSafetensors, tf } from "@birdvlm/core";
import { VisionTransformer } from "./vision-transformer.js";
import { HF5_BLOCK_NAMES, HF_BLOCK_NAMES } from "./load.js";
import { sharedPath } from "../../../testing/shared.js";

const timmDir = sharedPath("goldens/timm-vit-tiny-depth4");
const hfDir = sharedPath("goldens/hf-vit-tiny-depth2");

async function golden(dir: string) {
  const r = await openSafetensors(`${dir}/golden.safetensors`);
  const out = {
    images: (await r.read("pixel_values_nhwc")) as tf.Tensor4D,
    lastHiddenState: await r.read("last_hidden_state"),
    logits: await r.read("logits"),
  };
  await r.close();
  return out;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe.each([
  ["timm-vit-tiny-depth4", timmDir, 4, 1e-6],
  ["hf-vit-tiny-depth2", hfDir, 2, 1e-12],
])("golden %s", (_name, dir, depth, eps) => {
  it.skipIf(!dir)("reproduces last_hidden_state and logits within 1e-4", async () => {
    const model = await VisionTransformer.load(dir!);
    expect(model.config.depth).toBe(depth);
    expect(model.config.layerNormEps).toBe(eps);
    expect(model.config.numClasses).toBe(200);
    const g = await golden(dir!);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const o = model.forward(g.images);
      return [o.lastHiddenState, o.logits!];
    });
    // classify: the last block computes the class token's row alone (headOnly), the same logits.
    out.push(model.classify(g.images));
    expect(out[0]!.shape).toEqual(g.lastHiddenState.shape);
    const errHidden = maxAbsDiff(out[0]!, g.lastHiddenState);
    const errLogits = maxAbsDiff(out[1]!, g.logits);
    const errClassify = maxAbsDiff(out[2]!, g.logits);
    console.log(
      `${_name} on ${tf.getBackend()}: max abs error hidden ${errHidden.toExponential(2)}, logits ${errLogits.toExponential(2)}, classify ${errClassify.toExponential(2)}`,
    );
    expect(errHidden).toBeLessThan(1e-4);
    expect(errLogits).toBeLessThan(1e-4);
    expect(errClassify).toBeLessThan(1e-4);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([g.images, g.lastHiddenState, g.logits]);
    model.dispose();
  });
});

/** name → raw bytes of every tensor of a safetensors file. */
async function rawTensors(path: string): Promise<Map<string, { shape: number[]; bytes: Buffer }>> {
  const r = await openSafetensors(path);
  const out = new Map<string, { shape: number[]; bytes: Buffer }>();
  for (const n of r.names()) out.set(n, { shape: r.info(n).shape, bytes: Buffer.from(await r.readBytes(n)) });
  await r.close();
  return out;
}

describe("saving a reference checkpoint again", () => {
  it.skipIf(!timmDir)("writes the timm golden's tensors back byte for byte", async () => {
    const model = await VisionTransformer.load(timmDir!);
    const dir = await mkdtemp(join(tmpdir(), "vit-golden-"));
    try {
      await model.save(dir, { format: "timm" });
      const original = await rawTensors(join(timmDir!, "model.safetensors"));
      const saved = await rawTensors(join(dir, "model.safetensors"));
      expect([...saved.keys()].sort()).toEqual([...original.keys()].sort());
      for (const [n, t] of original) {
        expect(saved.get(n)!.shape, n).toEqual(t.shape);
        expect(saved.get(n)!.bytes.equals(t.bytes), n).toBe(true);
      }
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hfDir)(
    "writes the HF golden (transformers 5 names) in transformers 4 names with the same bytes",
    async () => {
      const model = await VisionTransformer.load(hfDir!);
      const dir = await mkdtemp(join(tmpdir(), "vit-golden-"));
      try {
        await model.save(dir, { format: "hf" });
        const original = await rawTensors(join(hfDir!, "model.safetensors"));
        const saved = await rawTensors(join(dir, "model.safetensors"));
        // Rename the 5.x block names into 4.x ones through the two tables (matched by their timm name).
        const rename = new Map<string, string>();
        HF5_BLOCK_NAMES.names.forEach(([v5, timm]) =>
          rename.set(v5, HF_BLOCK_NAMES.names.find(([, t]) => t === timm)![0]),
        );
        HF5_BLOCK_NAMES.qkv.forEach((v5, i) => {
          for (const kind of ["weight", "bias"]) rename.set(`${v5}.${kind}`, `${HF_BLOCK_NAMES.qkv[i]}.${kind}`);
        });
        const expected = new Map<string, { shape: number[]; bytes: Buffer }>();
        for (const [n, t] of original) {
          const m = /^vit\.layers\.(\d+)\.(.+)$/.exec(n);
          expected.set(m ? `vit.encoder.layer.${m[1]}.${rename.get(m[2]!)}` : n, t);
        }
        expect([...saved.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [n, t] of expected) expect(saved.get(n)!.bytes.equals(t.bytes), n).toBe(true);
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
