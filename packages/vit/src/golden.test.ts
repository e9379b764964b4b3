import { describe, expect, it } from "vitest";
import { openSafetensors, tf } from "@birdvlm/core";
import { VisionTransformer } from "./vision-transformer.js";
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
    expect(out[0]!.shape).toEqual(g.lastHiddenState.shape);
    const errHidden = maxAbsDiff(out[0]!, g.lastHiddenState);
    const errLogits = maxAbsDiff(out[1]!, g.logits);
    console.log(`${_name} on ${tf.getBackend()}: max abs error hidden ${errHidden.toExponential(2)}, logits ${errLogits.toExponential(2)}`);
    expect(errHidden).toBeLessThan(1e-4);
    expect(errLogits).toBeLessThan(1e-4);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([g.images, g.lastHiddenState, g.logits]);
    model.dispose();
  });
});
