import { Module, type ParameterInit, gelu, tf } from "@birdvlm/core";
import type { TokenGrid } from "./forward-context.js";

// Reference: Wang et al. 2022, "PVT v2: Improved Baselines with Pyramid Vision Transformer" (`DWConv` in the
// convolutional feed-forward network); Li et al. 2021, "LocalViT".
/**
 * A depthwise `k x k` convolution over the patch tokens laid out on their grid (stride 1, zero padding `k // 2`,
 * one filter per channel, with a bias): the spatial mixing inside a convolutional MLP. Prefix tokens (class,
 * distillation) have no place on the grid and pass through the convolution unchanged. `weight` is PyTorch's depthwise `Conv2d`
 * layout `[C, 1, k, k]`, so timm-layout checkpoints need no conversion.
 */
export class TokenDepthwiseConv extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly channels: number,
    readonly kernel: number,
    init: ParameterInit,
  ) {
    super();
    const fanIn = kernel * kernel;
    // PyTorch's Conv2d default (±1/√fan_in) with the uniform linear init; otherwise PVT v2's He-normal over the
    // k·k taps (timm's std 0.02 would start the spatial path near zero).
    const weight =
      init.linear === "uniform"
        ? init.uniform([channels, 1, kernel, kernel], 1 / Math.sqrt(fanIn))
        : init.normal([channels, 1, kernel, kernel], Math.sqrt(2 / fanIn));
    this.weight = this.registerParameter("weight", weight);
    const bias = init.linear === "uniform" ? init.uniform([channels], 1 / Math.sqrt(fanIn)) : init.zeros([channels]);
    this.bias = this.registerParameter("bias", bias);
  }

  /**
   * `[B, P + rows·cols, C]` → the same shape; the last `rows·cols` tokens are convolved on the grid. With
   * `activation: "gelu"` every output token then goes through an exact GELU, the bias added inside the fused
   * bias + GELU op (one pass over the tokens instead of two).
   */
  forward(tokens: tf.Tensor3D, grid: TokenGrid, options: { activation?: "gelu" } = {}): tf.Tensor3D {
    const [b, t, c] = tokens.shape;
    const n = grid.rows * grid.cols;
    if (t !== grid.prefix + n || c !== this.channels)
      throw new Error(
        `TokenDepthwiseConv: tokens [${tokens.shape}] do not fit ${grid.prefix} prefix tokens + a ${grid.rows} x ${grid.cols} grid of ${this.channels} channels`,
      );
    // split and concat, not slice: their gradients are each other (native kernels), where slice's is a pad.
    const [prefix, patches] = grid.prefix ? tf.split(tokens, [grid.prefix, n], 1) : [undefined, tokens];
    const image = tf.reshape(patches!, [b, grid.rows, grid.cols, c]) as tf.Tensor4D;
    const filter = tf.reshape(tf.transpose(this.weight, [2, 3, 0, 1]), [this.kernel, this.kernel, c, 1]) as tf.Tensor4D;
    const conv = tf.reshape(tf.depthwiseConv2d(image, filter, 1, "same"), [b, n, c]);
    const act = options.activation === "gelu";
    const mixed = act ? gelu(conv, { bias: this.bias }) : tf.add(conv, this.bias);
    if (!prefix) return mixed as tf.Tensor3D;
    return tf.concat([act ? gelu(prefix) : prefix, mixed], 1) as tf.Tensor3D;
  }
}
