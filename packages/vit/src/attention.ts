import { Module, tf } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import type { ParameterInit } from "./init.js";
import { Linear } from "./linear.js";
import { dropout } from "./drop.js";

/**
 * Multi-head self-attention with a fused `qkv` projection (timm `Attention`): one `[B*T, D] x [D, 3D]` product,
 * scores and context as batched products over `[B*heads, T, d]`, then the output projection `proj`.
 */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(readonly dim: number, readonly numHeads: number, init: ParameterInit, readonly options: { qkvBias: boolean; attentionDropout: number; dropout: number }) {
    super();
    this.headDim = dim / numHeads;
    this.qkv = this.registerModule("qkv", new Linear(dim, 3 * dim, init, { bias: options.qkvBias }));
    this.proj = this.registerModule("proj", new Linear(dim, dim, init));
  }

  /** `[B, T, D]` → `[B, T, D]`. */
  forward(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    const [b, t, d] = x.shape;
    const h = this.numHeads;
    const hd = this.headDim;
    const qkv = tf.reshape(tf.transpose(tf.reshape(this.qkv.forward(x), [b, t, 3, h, hd]), [2, 0, 3, 1, 4]), [3, b * h, t, hd]);
    const [q, k, v] = tf.unstack(qkv, 0) as tf.Tensor3D[];
    // Scaling q ([B*h, T, d]) is cheaper than scaling the scores ([B*h, T, T]).
    const scores = tf.matMul(tf.mul(q!, 1 / Math.sqrt(hd)), k!, false, true);
    const probs = tf.softmax(scores);
    if (ctx.attention) ctx.attention.push(tf.keep(tf.reshape(probs, [b, h, t, t])));
    const dropped = ctx.training ? dropout(probs, this.options.attentionDropout, ctx.nextSeed()) : probs;
    const context = tf.reshape(tf.transpose(tf.reshape(tf.matMul(dropped as tf.Tensor3D, v!), [b, h, t, hd]), [0, 2, 1, 3]), [b, t, d]);
    const out = this.proj.forward(context);
    return (ctx.training ? dropout(out, this.options.dropout, ctx.nextSeed()) : out) as tf.Tensor3D;
  }
}
