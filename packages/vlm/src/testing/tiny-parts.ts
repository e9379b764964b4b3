import { tf } from "@birdvlm/core";
import { VisionTransformer } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM } from "@birdvlm/phi3";
import type { TextTokenizer } from "@birdvlm/core";
import { BirdVLM } from "../birdvlm.js";
import { ImageTable } from "../image-table.js";

/** Test helper: a tiny real BirdVLM (16 px ViT, 4 image tokens, 1-layer Phi-3) over `tokenizer`. */
export function tinyVlm(tokenizer: TextTokenizer, seed = 0): BirdVLM {
  const encoder = new VisionTransformer(
    { imageSize: 16, patchSize: 4, hiddenSize: 16, depth: 1, numHeads: 2, mlpSize: 32, numClasses: 0 },
    { seed },
  );
  const connector = new MlpProjector({
    inputDim: 16,
    outputDim: 32,
    pooling: { mode: "avg", outputGrid: [2, 2] },
    seed,
  });
  const lm = new Phi3ForCausalLM(
    {
      vocabSize: tokenizer.vocabSize,
      hiddenSize: 32,
      intermediateSize: 64,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      maxPositionEmbeddings: 256,
      originalMaxPositionEmbeddings: 256,
      bosTokenId: 0,
      eosTokenId: 1,
      padTokenId: 1,
    },
    { seed },
  );
  return BirdVLM.create({ encoder, connector, lm, tokenizer });
}

/** Test helper: `n` 16 px images, each a solid colour from `colours` (cycled), normalized with mean 0.5 / std 0.5. */
export function colourImages(n: number, colours: Array<[number, number, number]>): ImageTable {
  const data = new Float32Array(n * 16 * 16 * 3);
  for (let i = 0; i < n; i++) {
    const c = colours[i % colours.length]!;
    for (let p = 0; p < 256; p++)
      for (let k = 0; k < 3; k++) data[(i * 256 + p) * 3 + k] = (c[k]! - 0.5) / 0.5 + 0.1 * Math.sin(i * 7 + p + k);
  }
  return ImageTable.fromTensor(
    Array.from({ length: n }, (_, i) => `img${i}`),
    tf.tensor4d(data, [n, 16, 16, 3]),
  );
}
