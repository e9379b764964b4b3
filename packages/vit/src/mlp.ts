import { Linear, Module, tf, type ParameterInit } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import { dropout } from "./drop.js";

// Reference: timm `timm/layers/mlp.py` `Mlp`.
/** `fc1` → exact GELU → `fc2` (timm `Mlp`), with dropout after each in training. */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(
    dim: number,
    hidden: number,
    init: ParameterInit,
    readonly rate = 0,
  ) {
    super();
    this.fc1 = this.registerModule("fc1", new Linear(dim, hidden, init));
    this.fc2 = this.registerModule("fc2", new Linear(hidden, dim, init));
  }

  /** `[..., dim]` → `[..., dim]`. */
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    // fc1 and its exact GELU: one kernel where the backend fuses them (inference), else core's fused GELU op.
    let y = this.fc1.forward(x, { activation: "gelu" });
    if (ctx.training) y = dropout(y, this.rate, ctx.nextSeed());
    y = this.fc2.forward(y);
    return ctx.training ? dropout(y, this.rate, ctx.nextSeed()) : y;
  }
}
