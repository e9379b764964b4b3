import { Linear, Module, swiglu, tf, type ParameterInit } from "@birdvlm/core";
import type { Phi3Config } from "./config.js";

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3MLP`.
/** The SiLU-gated MLP: `down_proj(up * silu(gate))`, with `gate_up_proj` holding gate then up. */
export class Phi3MLP extends Module {
  readonly gateUpProj: Linear;
  readonly downProj: Linear;

  constructor(config: Phi3Config, init: ParameterInit) {
    super();
    this.gateUpProj = this.registerModule(
      "gate_up_proj",
      new Linear(config.hiddenSize, 2 * config.intermediateSize, init, { bias: false }),
    );
    this.downProj = this.registerModule(
      "down_proj",
      new Linear(config.intermediateSize, config.hiddenSize, init, { bias: false }),
    );
  }

  /** `[B, T, D]` → `[B, T, D]`. */
  apply(x: tf.Tensor3D, training = false): tf.Tensor3D {
    // core's swiglu: `up * silu(gate)` over gate_up_proj's output (gate first), one kernel where the backend has it.
    return tf.tidy(
      () => this.downProj.forward(swiglu(this.gateUpProj.forward(x, { training })), { training }) as tf.Tensor3D,
    );
  }
}
