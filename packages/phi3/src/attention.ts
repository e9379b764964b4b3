import { FusedKernelName, Linear, Module, fusedAttention, hasFusedKernel, tf, type ParameterInit } from "@birdvlm/core";
import { headDim, type Phi3Config } from "./config.js";
import type { Phi3KVCache } from "./kv-cache.js";
import type { RotaryEmbedding, RotaryTables } from "./rotary.js";

/** What one attention (or decoder layer) pass needs besides its input. */
export interface LayerContext {
  rotary: RotaryEmbedding;
  tables: RotaryTables;
  /** `[B or 1, 1, T, S]` additive bias, or `null` when every cached and earlier key is visible. */
  bias: tf.Tensor4D | null;
  cache: Phi3KVCache | undefined;
  layerIndex: number;
  training: boolean;
  /** Seed of this pass's dropout masks (training only). */
  seed: number;
}

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3Attention`.
/**
 * Phi-3 self-attention: fused `qkv_proj` (q, k, v stacked on the output axis), rotary embeddings on q and
 * k, grouped-query attention (kv head `g` serves query heads `g*rep .. g*rep+rep-1`), softmax in float32,
 * `o_proj`.
 */
export class Phi3Attention extends Module {
  readonly qkvProj: Linear;
  readonly oProj: Linear;
  private readonly heads: number;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly dropout: number;

  constructor(config: Phi3Config, init: ParameterInit) {
    super();
    this.heads = config.numAttentionHeads;
    this.kvHeads = config.numKeyValueHeads;
    this.headDim = headDim(config);
    this.dropout = config.attentionDropout;
    const qkvOut = (this.heads + 2 * this.kvHeads) * this.headDim;
    this.qkvProj = this.registerModule("qkv_proj", new Linear(config.hiddenSize, qkvOut, init, { bias: false }));
    this.oProj = this.registerModule(
      "o_proj",
      new Linear(this.heads * this.headDim, config.hiddenSize, init, { bias: false }),
    );
  }

  /** `x [B, T, D]` → `[B, T, D]`; appends this layer's keys/values to `ctx.cache` when given. */
  apply(x: tf.Tensor3D, ctx: LayerContext): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = x.shape;
      const { heads: h, kvHeads: kv, headDim: hd } = this;
      const qkv = this.qkvProj.forward(x, { training: ctx.training });
      // [B, T, h + 2kv, d] → [B, h + 2kv, T, d] (a reshape when T = 1), then q, k, v along the head axis.
      const [qh, kh, vh] = tf.split(
        swapHeadsAndTime(tf.reshape(qkv, [b, t, h + 2 * kv, hd]) as tf.Tensor4D),
        [h, kv, kv],
        1,
      ) as tf.Tensor4D[];
      const q = ctx.rotary.apply(qh!, ctx.tables);
      let k = ctx.rotary.apply(kh!, ctx.tables);
      let v = vh!;
      let kvLength = k.shape[2];
      if (ctx.cache) ({ keys: k, values: v, length: kvLength } = ctx.cache.append(ctx.layerIndex, k, v));
      const dropsAttention = ctx.training && this.dropout > 0;
      let out: tf.Tensor4D;
      if (!dropsAttention && hasFusedKernel(FusedKernelName.attention)) {
        // One kernel (scores, mask, softmax, values; GQA inside) where the backend has it (native, webgpu); it
        // reads the cache's first kvLength positions in place.
        const mask = ctx.bias ?? undefined;
        out = fusedAttention(q, k, v, { mask, scale: 1 / Math.sqrt(hd), kvLength });
      } else {
        const first = (x: tf.Tensor4D) =>
          x.shape[2] === kvLength ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, kvLength, -1]);
        out = this.composed(q, first(k), first(v), ctx) as tf.Tensor4D;
      }
      const merged = tf.reshape(swapHeadsAndTime(out), [b, t, h * hd]);
      return this.oProj.forward(merged, { training: ctx.training }) as tf.Tensor3D;
    });
  }

  /** q `[B, h, T, d]`, k and v `[B, kv, S, d]` → `[B, h, T, d]` as batched products over kv groups. */
  private composed(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, ctx: LayerContext): tf.Tensor {
    const [b, , t] = q.shape;
    const { heads: h, kvHeads: kv, headDim: hd } = this;
    const s = k.shape[2];
    const rep = h / kv;
    const qGrouped = tf.reshape(q, [b, kv, rep * t, hd]);
    let scores = tf.mul(tf.matMul(qGrouped, k, false, true), 1 / Math.sqrt(hd));
    if (ctx.bias) {
      const biased = tf.add(tf.reshape(scores, [b, kv, rep, t, s]), tf.expandDims(ctx.bias, 1));
      scores = tf.reshape(biased, [b, kv, rep * t, s]);
    }
    let probs = tf.softmax(scores, -1);
    if (ctx.training && this.dropout > 0) probs = tf.dropout(probs, this.dropout, undefined, ctx.seed);
    return tf.reshape(tf.matMul(probs, v), [b, h, t, hd]);
  }
}

/** `[B, X, Y, d]` → `[B, Y, X, d]`: a transpose, or a reshape when either axis has one entry (decoding). */
function swapHeadsAndTime(x: tf.Tensor4D): tf.Tensor4D {
  const [b, p, r, d] = x.shape;
  return p === 1 || r === 1 ? tf.reshape(x, [b, r, p, d]) : tf.transpose(x, [0, 2, 1, 3]);
}
