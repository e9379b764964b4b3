// BirdVLM align-stage training throughput in samples/s (`vlm-step`): the demo's shapes — ViT 64 px / patch 8,
// width 96, depth 4 (frozen); MLP projector 96 → 128 with 2×2 = 4 image tokens (trained); Phi-3 with hidden 128,
// 2 layers, a 200-word vocabulary (frozen) — one optimizer step over a batch of 32 caption conversations
// (≈ 30 tokens each): encoder forward, projector, LM forward and backward to the projector, AdamW update.
import { AdamW, shiftedCausalLMLoss, tf } from "@birdvlm/core";
import { VisionTransformer } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { BirdVLM, collate, labelConversation, withImageMarkers } from "@birdvlm/vlm";
import { defineCase } from "../harness.js";

const BATCH = 32;

export default defineCase({
  name: "vlm-step",
  unit: "samples/s",
  warmup: 1,
  runs: 5,
  async setup() {
    const words = Array.from({ length: 190 }, (_, i) => `w${i}`);
    const tokenizer = buildWordLevelTokenizer([words.join(" ") + " describe the bird in the image ."], {
      extraSpecialTokens: ["<|image_pad|>"],
    });
    const encoder = new VisionTransformer(
      {
        imageSize: 64,
        patchSize: 8,
        hiddenSize: 96,
        depth: 4,
        numHeads: 4,
        mlpSize: 192,
        pooling: "mean",
        numClasses: 0,
      },
      { seed: 0 },
    );
    const connector = new MlpProjector({
      inputDim: 96,
      outputDim: 128,
      pooling: { mode: "avg", outputGrid: [2, 2] },
      seed: 0,
    });
    const lm = new Phi3ForCausalLM(
      {
        vocabSize: tokenizer.vocabSize,
        hiddenSize: 128,
        intermediateSize: 256,
        numHiddenLayers: 2,
        numAttentionHeads: 4,
        maxPositionEmbeddings: 512,
        originalMaxPositionEmbeddings: 512,
      },
      { seed: 0 },
    );
    const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
    encoder.freeze();
    lm.freeze();
    const seqs = Array.from({ length: BATCH }, (_, i) => {
      const caption = Array.from({ length: 14 + (i % 5) }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(" ");
      return labelConversation(
        tokenizer,
        withImageMarkers(vlm, [
          { role: "user", content: "<image>\ndescribe the bird in the image ." },
          { role: "assistant", content: caption },
        ]),
      );
    });
    const batch = collate(seqs, tokenizer.stopTokenIds[0]!);
    const labels = tf.tensor2d(batch.labels, [BATCH, batch.labels[0]!.length], "int32");
    const images = tf.randomNormal([BATCH, 64, 64, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const named = connector.trainableParameters();
    const byVar = new Map(named.map(([n, v]) => [v.name, n]));
    const optimizer = new AdamW(named, { lr: 1e-3 });
    return {
      async step() {
        const loss = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(
            () => shiftedCausalLMLoss(vlm.logits(batch, images, { training: true }), labels),
            named.map(([, v]) => v),
          );
          const g: Record<string, tf.Tensor> = {};
          for (const [k, t] of Object.entries(grads)) g[byVar.get(k)!] = t;
          optimizer.step(g);
          return value;
        });
        await loss.data();
        loss.dispose();
        return BATCH;
      },
      dispose() {
        optimizer.dispose();
        tf.dispose([labels, images]);
        vlm.dispose();
      },
    };
  },
});
