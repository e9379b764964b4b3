import type { tf } from "@birdvlm/core";
import { resolveProjectorConfig, type ProjectorOptions } from "./config.js";
import { gelu } from "@birdvlm/core";
import { Linear } from "./linear.js";
import { Projector } from "./projector.js";

/**
 * The LLaVA-1.5 connector: `Linear(inputDim → hiddenDim) → exact GELU → Linear(hiddenDim → outputDim)`,
 * after a `PatchPooler`. Features → `[B, K, outputDim]`. Weights named like Hugging Face's
 * `LlavaMultiModalProjector` (`linear_1.*`, `linear_2.*`).
 */
export class MlpProjector extends Projector {
  readonly linear1: Linear;
  readonly linear2: Linear;

  constructor(options: ProjectorOptions) {
    super(resolveProjectorConfig("mlp", options));
    const { inputDim, hiddenDim, outputDim } = this.config;
    this.linear1 = this.registerModule("linear_1", new Linear(inputDim, hiddenDim, options.seed));
    this.linear2 = this.registerModule(
      "linear_2",
      new Linear(hiddenDim, outputDim, options.seed === undefined ? undefined : options.seed + 2),
    );
  }

  protected project(tokens: tf.Tensor3D): tf.Tensor3D {
    return this.linear2.forward(gelu(this.linear1.forward(tokens))) as tf.Tensor3D;
  }
}
