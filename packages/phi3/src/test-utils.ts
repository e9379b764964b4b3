import { Bf16Weight, tf } from "@birdvlm/core";
import { bf16Layers, linearLayers } from "./bf16-weights.js";
import type { Phi3Config } from "./config.js";
import type { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";

/** A tiny Phi-3 for tests: 2 layers, 4 heads, hidden 16, vocab 64 (overridable). */
export function tinyConfig(overrides: Partial<Phi3Config> = {}): Partial<Phi3Config> {
  return {
    vocabSize: 64,
    hiddenSize: 16,
    intermediateSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 4,
    maxPositionEmbeddings: 256,
    initializerRange: 0.5,
    padTokenId: 0,
    eosTokenId: 1,
    bosTokenId: 2,
    ...overrides,
  };
}

/**
 * Rounds the float32 weights `toBf16Weights` converts (linear layers; embeddings unless the head is tied) to
 * bf16 in place: the reference the bf16 model must match.
 */
export function roundWeightsToBf16(lm: Phi3ForCausalLM): void {
  const layers = lm.lmHead ? bf16Layers(lm) : linearLayers(lm);
  for (const [, layer] of layers) {
    const w = Bf16Weight.fromTensor(layer.weight as tf.Tensor2D);
    const wide = w.toFloat32();
    layer.weight.assign(wide);
    wide.dispose();
    w.dispose();
  }
}
