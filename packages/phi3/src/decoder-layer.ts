import { Module, deriveSeed, tf, type ParameterInit } from "@birdvlm/core";
import { Phi3Attention, type LayerContext } from "./attention.js";
import type { Phi3Config } from "./config.js";
import { Phi3MLP } from "./mlp.js";
import { RMSNorm } from "./rms-norm.js";

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3DecoderLayer`.
/** One pre-norm decoder layer: `x + attn(norm(x))`, then `x + mlp(norm(x))` (residual dropout in training). */
export class Phi3DecoderLayer extends Module {
  readonly inputLayernorm: RMSNorm;
  readonly selfAttn: Phi3Attention;
  readonly postAttentionLayernorm: RMSNorm;
  readonly mlp: Phi3MLP;
  private readonly residDropout: number;

  constructor(config: Phi3Config, init: ParameterInit) {
    super();
    this.selfAttn = this.registerModule("self_attn", new Phi3Attention(config, init));
    this.mlp = this.registerModule("mlp", new Phi3MLP(config, init));
    this.inputLayernorm = this.registerModule(
      "input_layernorm",
      new RMSNorm(config.hiddenSize, config.rmsNormEps, init),
    );
    this.postAttentionLayernorm = this.registerModule(
      "post_attention_layernorm",
      new RMSNorm(config.hiddenSize, config.rmsNormEps, init),
    );
    this.residDropout = config.residPdrop;
  }

  /** `[B, T, D]` → `[B, T, D]`. */
  apply(x: tf.Tensor3D, ctx: LayerContext): tf.Tensor3D {
    return tf.tidy(() => {
      const drop = (y: tf.Tensor, salt: number) =>
        ctx.training && this.residDropout > 0
          ? tf.dropout(y, this.residDropout, undefined, deriveSeed(ctx.seed, "residual", salt))
          : y;
      const attn = this.selfAttn.apply(this.inputLayernorm.apply(x) as tf.Tensor3D, ctx);
      const h = tf.add(x, drop(attn, 1)) as tf.Tensor3D;
      const mlp = this.mlp.apply(this.postAttentionLayernorm.apply(h) as tf.Tensor3D, ctx.training);
      return tf.add(h, drop(mlp, 2)) as tf.Tensor3D;
    });
  }
}
