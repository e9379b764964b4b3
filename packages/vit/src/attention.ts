import {
  FusedKernelName,
  Linear,
  Module,
  fusedAttention,
  hasFusedKernel,
  qkvAttention,
  tf,
  type ParameterInit,
} from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import { dropout } from "./drop.js";

// Reference: timm `timm/models/vision_transformer.py` `Attention`.
/**
 * Multi-head self-attention with a fused `qkv` projection (timm `Attention`): one `[B*T, D] x [D, 3D]` product,
 * scores and context as batched products over `[B*heads, T, d]`, then the output projection `proj`.
 */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    init: ParameterInit,
    readonly options: { qkvBias: boolean; attentionDropout: number; dropout: number },
  ) {
    super();
    this.headDim = dim / numHeads;
    this.qkv = this.registerModule("qkv", new Linear(dim, 3 * dim, init, { bias: options.qkvBias }));
    this.proj = this.registerModule("proj", new Linear(dim, dim, init));
  }

  /**
   * `[B, T, D]` → `[B, Tq, D]`: every token attends to all `T`; with `queries` only the first `Tq` tokens query (a
   * class-token head reads the class token's row alone). Default all.
   */
  forward(x: tf.Tensor3D, ctx: ForwardContext, queries?: number): tf.Tensor3D {
    const [b, t] = x.shape;
    const tq = queries ?? t;
    const h = this.numHeads;
    const hd = this.headDim;
    if (this.useFusedKernel(ctx) && hasFusedKernel(FusedKernelName.qkvAttention)) {
      // q, k and v read where the qkv projection wrote them, the context written with heads side by side (native).
      const qkv = this.qkv.forward(x) as tf.Tensor3D;
      const context = qkvAttention(qkv, h, { scale: 1 / Math.sqrt(hd), queries: tq });
      const out = this.proj.forward(context);
      return (ctx.training ? dropout(out, this.options.dropout, ctx.nextSeed()) : out) as tf.Tensor3D;
    }
    const qkv = tf.reshape(tf.transpose(tf.reshape(this.qkv.forward(x), [b, t, 3, h, hd]), [2, 0, 3, 1, 4]), [
      3,
      b * h,
      t,
      hd,
    ]);
    const [qAll, k, v] = tf.unstack(qkv, 0) as tf.Tensor3D[];
    const q = tq < t ? tf.slice(qAll!, [0, 0, 0], [-1, tq, -1]) : qAll!;
    const out = this.proj.forward(
      this.useFusedKernel(ctx) ? this.fused(q, k!, v!, b) : this.composed(q, k!, v!, b, ctx),
    );
    return (ctx.training ? dropout(out, this.options.dropout, ctx.nextSeed()) : out) as tf.Tensor3D;
  }

  /** The one-pass attention kernel, where the backend has one (webgpu) and nothing needs the probabilities. */
  private useFusedKernel(ctx: ForwardContext): boolean {
    const dropsAttention = ctx.training && this.options.attentionDropout > 0;
    return !ctx.attention && !dropsAttention && hasFusedKernel(FusedKernelName.attention);
  }

  /** q `[B*h, Tq, d]`, k, v `[B*h, T, d]` → context `[B, Tq, D]` through core's fused attention. */
  private fused(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, b: number): tf.Tensor3D {
    const heads = (t: tf.Tensor3D): tf.Tensor4D => tf.reshape(t, [b, this.numHeads, t.shape[1], this.headDim]);
    const context = fusedAttention(heads(q), heads(k), heads(v), { scale: 1 / Math.sqrt(this.headDim) });
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b, q.shape[1], this.dim]);
  }

  /** q `[B*h, Tq, d]`, k, v `[B*h, T, d]` → context `[B, Tq, D]` as batched products (probabilities recorded when asked). */
  private composed(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, b: number, ctx: ForwardContext): tf.Tensor3D {
    const h = this.numHeads;
    const hd = this.headDim;
    const t = q.shape[1];
    // Scaling q ([B*h, Tq, d]) is cheaper than scaling the scores ([B*h, Tq, T]).
    const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(hd)), k, false, true);
    const probs = tf.softmax(scores);
    if (ctx.attention) ctx.attention.push(tf.keep(tf.reshape(probs, [b, h, t, k.shape[1]])));
    const dropped = ctx.training ? dropout(probs, this.options.attentionDropout, ctx.nextSeed()) : probs;
    return tf.reshape(tf.transpose(tf.reshape(tf.matMul(dropped as tf.Tensor3D, v), [b, h, t, hd]), [0, 2, 1, 3]), [
      b,
      t,
      this.dim,
    ]);
  }
}
