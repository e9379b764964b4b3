import { Module, tf, type ParameterInit } from "@birdvlm/core";
import type { ForwardContext } from "./forward-context.js";
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
  /** LayerScale initial value; 0 = no LayerScale. */
  layerScaleInit: number;
  /** Kernel of the MLP's depthwise convolution over the token grid (PVT v2); 0 (the default) = a plain MLP. */
  mlpConvKernel?: number;
}

// Reference: timm `timm/models/vision_transformer.py` `LayerScale`.
/** timm `LayerScale`: a learned per-channel scale `gamma` `[D]` of a residual branch. */
export class LayerScale extends Module {
  readonly gamma: tf.Variable;
  constructor(dim: number, initValue: number) {
    super();
    this.gamma = this.registerParameter("gamma", tf.fill([dim], initValue));
  }
  /** `[..., D]` → same shape. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.gamma);
  }
}

// Reference: timm `timm/models/vision_transformer.py` `Block`.
/** Pre-norm block (timm `Block`): `x + ls1(attn(norm1(x)))`, then `x + ls2(mlp(norm2(x)))`, each branch with drop-path (LayerScale optional). */
export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  readonly ls1?: LayerScale;
  readonly ls2?: LayerScale;

  constructor(
    readonly options: BlockOptions,
    init: ParameterInit,
  ) {
    super();
    const o = options;
    this.norm1 = this.registerModule("norm1", new LayerNorm(o.dim, o.eps, init));
    this.attn = this.registerModule(
      "attn",
      new Attention(o.dim, o.numHeads, init, {
        qkvBias: o.qkvBias,
        attentionDropout: o.attentionDropout,
        dropout: o.dropout,
      }),
    );
    this.norm2 = this.registerModule("norm2", new LayerNorm(o.dim, o.eps, init));
    this.mlp = this.registerModule("mlp", new Mlp(o.dim, o.mlpSize, init, o.dropout, o.mlpConvKernel ?? 0));
    if (o.layerScaleInit > 0) {
      this.ls1 = this.registerModule("ls1", new LayerScale(o.dim, o.layerScaleInit));
      this.ls2 = this.registerModule("ls2", new LayerScale(o.dim, o.layerScaleInit));
    }
  }

  /**
   * `[B, T, D]` → `[B, T, D]`; with `queries`, `[B, Tq, D]`: the first `Tq` tokens' rows alone (they attend to all
   * `T`), as a class-token head's last block needs. Same values in those rows.
   */
  forward(x: tf.Tensor3D, ctx: ForwardContext, queries?: number): tf.Tensor3D {
    const branch = (y: tf.Tensor, ls?: LayerScale) => {
      const scaled = ls ? ls.forward(y) : y;
      return ctx.training ? dropPath(scaled, this.options.dropPath, ctx.nextSeed()) : scaled;
    };
    // Each branch in its own tidy: its intermediates are freed (and their buffers reused, still in cache) as
    // soon as it is done, not at the end of the whole forward pass.
    const [b, t, d] = x.shape;
    const h = tf.tidy(() => {
      const rows = queries !== undefined && queries < t ? tf.slice(x, [0, 0, 0], [b, queries, d]) : x;
      return tf.add(rows, branch(this.attn.forward(this.norm1.forward(x) as tf.Tensor3D, ctx, queries), this.ls1));
    }) as tf.Tensor3D;
    return tf.tidy(() => tf.add(h, branch(this.mlp.forward(this.norm2.forward(h), ctx), this.ls2))) as tf.Tensor3D;
  }
}

// Reference: timm `timm/models/vision_transformer.py` `VisionTransformer.blocks` (an `nn.Sequential`).
/** The transformer blocks, named `0`, `1`, ... (timm's `blocks.N`). */
export class BlockList extends Module {
  readonly items: Block[] = [];
  /** Appends a block under the next index. */
  add(block: Block): void {
    this.items.push(this.registerModule(String(this.items.length), block));
  }
}
