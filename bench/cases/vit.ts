// ViT-Tiny (224 px, patch 16, 192 wide, 12 blocks, 3 heads, 200 classes), the shape of the PyTorch anchor
// `shared/anchors/vit_torch.py`: a training step (forward + backward + AdamW) at batch 8, and inference at
// batch 1 and 8, in images per second; on webgpu also `vit-train-b64` and `vit-infer-b64` (batch 64).
import { AdamW, tf } from "@birdvlm/core";
import { VisionTransformer, vitTiny } from "@birdvlm/vit";
import { defineCase, type BenchCase } from "../harness.js";
import { tinyBench, withWebGPUOnly } from "./webgpu-only.js";

function tiny(imageSize = 224): VisionTransformer {
  return new VisionTransformer({ ...vitTiny, imageSize, numClasses: 200 }, { seed: 0 });
}

function trainCase(name: string, batch: number, imageSize = 224): BenchCase {
  return defineCase({
    name,
    unit: "img/s",
    warmup: 1,
    runs: 5,
    async setup() {
      const model = tiny(imageSize).train();
      const images = tf.randomNormal([batch, imageSize, imageSize, 3], 0, 1, "float32", 1) as tf.Tensor4D;
      const labels = tf.tensor1d(
        Array.from({ length: batch }, (_, i) => (i * 37) % 200),
        "int32",
      );
      const params = model.trainableParameters();
      const nameOf = new Map(params.map(([n, v]) => [v.name, n]));
      const optimizer = new AdamW(params, { lr: 5e-4, weightDecay: 0.05 });
      return {
        async step() {
          const loss = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(
              () => {
                const logits = model.forward(images, { training: true }).logits!;
                return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 200), logits) as tf.Scalar;
              },
              params.map(([, v]) => v),
            );
            const named: Record<string, tf.Tensor> = {};
            for (const [k, g] of Object.entries(grads)) named[nameOf.get(k)!] = g;
            optimizer.step(named);
            return value;
          });
          await loss.data();
          loss.dispose();
          return batch;
        },
        dispose() {
          tf.dispose([images, labels]);
          optimizer.dispose();
          model.dispose();
        },
      };
    },
  });
}

function infer(batch: number, name = `vit-infer-b${batch}`, imageSize = 224): BenchCase {
  return defineCase({
    name,
    unit: "img/s",
    // Small batches: a few warm-up passes (JIT, buffer pool), as the PyTorch anchor's 2 warm-up steps.
    warmup: batch <= 8 ? 3 : 1,
    runs: 5,
    async setup() {
      const model = tiny(imageSize);
      const images = tf.randomNormal([batch, imageSize, imageSize, 3], 0, 1, "float32", 2) as tf.Tensor4D;
      return {
        async step() {
          const logits = model.classify(images);
          await logits.data();
          logits.dispose();
          return batch;
        },
        dispose() {
          images.dispose();
          model.dispose();
        },
      };
    },
  });
}

// Issue 8's GPU table: ViT-Tiny at batch 64, on webgpu only (see webgpu-only.ts; a dry run at 64 px, batch 4).
const gpuBatch = tinyBench ? 4 : 64;
const gpuImage = tinyBench ? 64 : 224;

export default withWebGPUOnly(
  [trainCase("vit-train-b64", gpuBatch, gpuImage), infer(gpuBatch, "vit-infer-b64", gpuImage)],
  [trainCase("vit-train", 8), infer(1), infer(8)],
);
