import { Module, tf } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
import type { ParameterInit } from "./init.js";
import { Attention } from "./attention.js";
import { LayerNorm } from "./layer-norm.js";
import { Mlp } from "./mlp.js";
import { dropPath } from "./drop.js";

/** Shape of one pre-norm transformer block. */
export interface BlockOptions {
  dim: number;
  numHeads: number;
  mlpSize: number;
  qkvBias: boolean;
  eps: number;
  dropout: number;
  attentionDropout: number;
  /** Stochastic-depth rate of this block. */
  dropPath: number;
}

/** Pre-norm block (timm `Block`): `x + attn(norm1(x))`, then `x + mlp(norm2(x))`, each branch with drop-path. */
export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(readonly options: BlockOptions, init: ParameterInit) {
    super();
    const o = options;
    this.norm1 = this.registerModule("norm1", new LayerNorm(o.dim, o.eps, init));
    this.attn = this.registerModule("attn", new Attention(o.dim, o.numHeads, init, { qkvBias: o.qkvBias, attentionDropout: o.attentionDropout, dropout: o.dropout }));
    this.norm2 = this.registerModule("norm2", new LayerNorm(o.dim, o.eps, init));
    this.mlp = this.registerModule("mlp", new Mlp(o.dim, o.mlpSize, init, o.dropout));
  }

  /** `[B, T, D]` → `[B, T, D]`. */
  forward(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    const branch = (y: tf.Tensor) => (ctx.training ? dropPath(y, this.options.dropPath, ctx.nextSeed()) : y);
    const h = tf.add(x, branch(this.attn.forward(this.norm1.forward(x) as tf.Tensor3D, ctx))) as tf.Tensor3D;
    return tf.add(h, branch(this.mlp.forward(this.norm2.forward(h), ctx))) as tf.Tensor3D;
  }
}
