import { Linear, ParameterInit, type LinearWithBias, type tf } from "@birdvlm/core";
import { resolveProjectorConfig, type ProjectorOptions } from "./config.js";
import { Projector } from "./projector.js";

// Reference: LLaVA `llava/model/multimodal_projector/builder.py` `build_vision_projector` ('linear').
/** The original LLaVA connector: one `Linear(inputDim → outputDim)` after a `PatchPooler`. Weights `linear.*`. */
export class LinearProjector extends Projector {
  readonly linear: LinearWithBias;

  constructor(options: ProjectorOptions) {
    super(resolveProjectorConfig("linear", options));
    const init = new ParameterInit(options.seed, { linear: "uniform" });
    this.linear = this.registerModule(
      "linear",
      new Linear(this.config.inputDim, this.config.outputDim, init) as LinearWithBias,
    );
  }

  protected project(tokens: tf.Tensor3D): tf.Tensor3D {
    return this.linear.forward(tokens) as tf.Tensor3D;
  }
}
