import { Linear, Module, tf, type ParameterInit } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import { dropout } from "./drop.js";
import { TokenDepthwiseConv } from "./token-depthwise-conv.js";

// Reference: timm `timm/layers/mlp.py` `Mlp`; PVT v2's convolutional feed-forward (`dwconv`).
/**
 * `fc1` → exact GELU → `fc2` (timm `Mlp`), with dropout after each in training. With `convKernel` > 0 a depthwise
 * convolution over the token grid (`dwconv`, PVT v2) sits between `fc1` and the GELU.
 */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly dwconv?: TokenDepthwiseConv;
  readonly fc2: Linear;

  constructor(
    dim: number,
    hidden: number,
    init: ParameterInit,
    readonly rate = 0,
    convKernel = 0,
  ) {
    super();
    this.fc1 = this.registerModule("fc1", new Linear(dim, hidden, init));
    if (convKernel > 0) this.dwconv = this.registerModule("dwconv", new TokenDepthwiseConv(hidden, convKernel, init));
    this.fc2 = this.registerModule("fc2", new Linear(hidden, dim, init));
  }

  /** `[B, T, dim]` → `[B, T, dim]` (any `[..., dim]` without `dwconv`). */
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    let y: tf.Tensor;
    if (this.dwconv) {
      if (!ctx.tokenGrid) throw new Error("Mlp: a convolutional MLP (dwconv) needs the token grid in its context");
      y = this.dwconv.forward(this.fc1.forward(x) as tf.Tensor3D, ctx.tokenGrid, { activation: "gelu" });
    } else {
      // fc1 and its exact GELU: one kernel where the backend fuses them (inference), else core's fused GELU op.
      y = this.fc1.forward(x, { activation: "gelu" });
    }
    if (ctx.training) y = dropout(y, this.rate, ctx.nextSeed());
    y = this.fc2.forward(y);
    return ctx.training ? dropout(y, this.rate, ctx.nextSeed()) : y;
  }
}
