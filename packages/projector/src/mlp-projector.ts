import { resolveProjectorConfig, type ProjectorOptions } from "./config.js";
import { Linear, ParameterInit, type LinearWithBias, type tf } from "@birdvlm/core";
import { Projector } from "./projector.js";

// Reference: LLaVA's `multi_modal_projector`: transformers `models/llava/modeling_llava.py` `LlavaMultiModalProjector`.
/**
 * The LLaVA-1.5 connector: `Linear(inputDim → hiddenDim) → exact GELU → Linear(hiddenDim → outputDim)`,
 * after a `PatchPooler`. Features → `[B, K, outputDim]`. Weights named like Hugging Face's
 * `LlavaMultiModalProjector` (`linear_1.*`, `linear_2.*`).
 */
export class MlpProjector extends Projector {
  readonly linear1: LinearWithBias;
  readonly linear2: LinearWithBias;

  constructor(options: ProjectorOptions) {
    super(resolveProjectorConfig("mlp", options));
    const { inputDim, hiddenDim, outputDim } = this.config;
    const init = new ParameterInit(options.seed, { linear: "uniform" });
    this.linear1 = this.registerModule("linear_1", new Linear(inputDim, hiddenDim, init) as LinearWithBias);
    this.linear2 = this.registerModule("linear_2", new Linear(hiddenDim, outputDim, init) as LinearWithBias);
  }

  protected project(tokens: tf.Tensor3D): tf.Tensor3D {
    return this.linear2.forward(this.linear1.forward(tokens, { activation: "gelu" })) as tf.Tensor3D;
  }
}
