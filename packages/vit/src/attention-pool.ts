import { Linear, Module, tf, type ParameterInit } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import { LayerNorm } from "./layer-norm.js";
import { Mlp } from "./mlp.js";
import { dropout } from "./drop.js";

// Reference: timm `timm/layers/attention_pool.py` `AttentionPoolLatent`.
/**
 * Attention pooling with a learned query (timm `AttentionPoolLatent`, `global_pool='map'`): the `latent`
 * query attends over the tokens through `q` and `kv`, `proj`, then `x + mlp(norm(x))`.
 */
export class AttentionPool extends Module {
  readonly latent: tf.Variable;
  readonly q: Linear;
  readonly kv: Linear;
  readonly proj: Linear;
  readonly norm: LayerNorm;
  readonly mlp: Mlp;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    mlpSize: number,
    eps: number,
    qkvBias: boolean,
    init: ParameterInit,
    readonly rate = 0,
  ) {
    super();
    this.latent = this.registerParameter("latent", init.truncNormal([1, 1, dim], dim ** -0.5));
    this.q = this.registerModule("q", new Linear(dim, dim, init, { bias: qkvBias }));
    this.kv = this.registerModule("kv", new Linear(dim, 2 * dim, init, { bias: qkvBias }));
    this.proj = this.registerModule("proj", new Linear(dim, dim, init));
    this.norm = this.registerModule("norm", new LayerNorm(dim, eps, init));
    this.mlp = this.registerModule("mlp", new Mlp(dim, mlpSize, init, rate));
  }

  /** Tokens `[B, T, D]` → pooled `[B, D]`; pushes the pooling attention `[B, heads, 1, T]` to `ctx.attention` when set. */
  forward(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor2D {
    const [b, t, d] = x.shape;
    const h = this.numHeads;
    const hd = d / h;
    const q = tf.transpose(tf.reshape(this.q.forward(this.latent), [1, h, hd]), [1, 0, 2]); // [h, 1, hd]
    const kv = tf.reshape(tf.transpose(tf.reshape(this.kv.forward(x), [b, t, 2, h, hd]), [2, 0, 3, 1, 4]), [
      2,
      b * h,
      t,
      hd,
    ]);
    const [k, v] = tf.unstack(kv, 0) as tf.Tensor3D[];
    const qb = tf.tile(q, [b, 1, 1]) as tf.Tensor3D; // [b*h, 1, hd]
    const probs = tf.softmax(tf.mul(tf.matMul(qb, k!, false, true), 1 / Math.sqrt(hd)));
    if (ctx.attention) ctx.attention.push(tf.keep(tf.reshape(probs, [b, h, 1, t])));
    const pooled = tf.reshape(tf.matMul(probs as tf.Tensor3D, v!), [b, d]);
    let y = this.proj.forward(pooled);
    if (ctx.training) y = dropout(y, this.rate, ctx.nextSeed());
    return tf.add(y, this.mlp.forward(this.norm.forward(y), ctx)) as tf.Tensor2D;
  }
}
