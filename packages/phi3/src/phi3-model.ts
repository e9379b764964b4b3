import { Module, type ParameterInit } from "@birdvlm/core";
import type { Phi3Config } from "./config.js";
import { Phi3DecoderLayer } from "./decoder-layer.js";
import { Embedding } from "./embedding.js";
import { ModuleList } from "./module-list.js";
import { RMSNorm } from "./rms-norm.js";

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3Model`.
/** The decoder body (`model.*` in the checkpoint): embeddings, layers, final norm. */
export class Phi3Model extends Module {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<Phi3DecoderLayer>;
  readonly norm: RMSNorm;

  constructor(config: Phi3Config, init: ParameterInit) {
    super();
    this.embedTokens = this.registerModule("embed_tokens", new Embedding(config.vocabSize, config.hiddenSize, init));
    const layers = Array.from({ length: config.numHiddenLayers }, () => new Phi3DecoderLayer(config, init));
    this.layers = this.registerModule("layers", new ModuleList(layers));
    this.norm = this.registerModule("norm", new RMSNorm(config.hiddenSize, config.rmsNormEps, init));
  }
}
