import type { tf } from "@birdvlm/core";
import { resolveProjectorConfig, type ProjectorOptions } from "./config.js";
import { Linear } from "./linear.js";
import { Projector } from "./projector.js";

/** The original LLaVA connector: one `Linear(inputDim → outputDim)` after a `PatchPooler`. Weights `linear.*`. */
export class LinearProjector extends Projector {
  readonly linear: Linear;

  constructor(options: ProjectorOptions) {
    super(resolveProjectorConfig("linear", options));
    this.linear = this.registerModule("linear", new Linear(this.config.inputDim, this.config.outputDim, options.seed));
  }

  protected project(tokens: tf.Tensor3D): tf.Tensor3D {
    return this.linear.forward(tokens) as tf.Tensor3D;
  }
}
