// ViT-Tiny (224 px, patch 16, dim 192, depth 12, heads 3, MLP 768, 200 classes) as in the PyTorch anchor
// (/work/shared/anchors/vit_torch.py): a train step (forward, backward, AdamW) at batch 8 and inference at
// batch 1 and 8, on @birdvlm/vit's VisionTransformer. The speed engineer's cases; `vit-*` are the vit package's.
import { AdamW, crossEntropy, tf } from "@birdvlm/core";
import { VisionTransformer } from "@birdvlm/vit";
import { defineCase, type BenchCase } from "../harness.js";

const CONFIG = { imageSize: 224, patchSize: 16, hiddenSize: 192, depth: 12, numHeads: 3, mlpSize: 768, numClasses: 200 };

function train(batch: number): BenchCase {
  return defineCase({
    name: `vitshaped-train-b${batch}`,
    unit: "img/s",
    warmup: 2,
    runs: 5,
    async setup() {
      const model = new VisionTransformer(CONFIG, { seed: 0 });
      model.train();
      const params = model.trainableParameters();
      const names = new Map(params.map(([name, v]) => [v.name, name]));
      const vars = params.map(([, v]) => v);
      const opt = new AdamW(model, { lr: 1e-3, weightDecay: 0 });
      const images = tf.randomUniform([batch, 224, 224, 3]) as tf.Tensor4D;
      const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 37) % 200), "int32");
      return {
        async step() {
          const loss = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(images).logits!, labels) as tf.Scalar, vars);
            const named = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
            opt.step(named);
            return value;
          });
          await loss.data();
          loss.dispose();
          return batch;
        },
        dispose() {
          tf.dispose([images, labels]);
          model.dispose();
        },
      };
    },
  });
}

function infer(batch: number): BenchCase {
  return defineCase({
    name: `vitshaped-infer-b${batch}`,
    unit: "img/s",
    warmup: 2,
    runs: batch === 1 ? 10 : 5,
    async setup() {
      const model = new VisionTransformer(CONFIG, { seed: 0 });
      model.eval();
      const images = tf.randomUniform([batch, 224, 224, 3]) as tf.Tensor4D;
      return {
        async step() {
          const logits = tf.tidy(() => model.forward(images).logits!);
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

export default [train(8), infer(1), infer(8)];
