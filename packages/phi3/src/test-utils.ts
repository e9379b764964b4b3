import type { Phi3Config } from "./config.js";

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
