import { tf } from "@birdvlm/core";
import { headDim, type Phi3Config } from "./config.js";

/** Inverse frequencies `1 / (factor_i * theta^(2i/dim))`, rounded as float32 like the reference. */
function inverseFrequencies(dim: number, theta: number, factors?: number[]): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / dim);
    const power = Math.fround(Math.pow(theta, exponent));
    out[i] = 1 / Math.fround((factors ? factors[i]! : 1) * power);
  }
  return out;
}

/** cos and sin for the rotated part of each head, `[B, 1, T, rotaryDim]`, already scaled. */
export interface RotaryTables {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
}

// Reference: transformers `models/phi3/modeling_phi3.py` `Phi3RotaryEmbedding` (+ `_compute_longrope_parameters`).
/**
 * Rotary position embeddings, with LongRoPE: the long factors once the sequence (the largest position + 1)
 * is longer than `originalMaxPositionEmbeddings`, the short ones otherwise, and cos/sin multiplied by
 * `sqrt(1 + ln(max/original) / ln(original))`.
 */
export class RotaryEmbedding {
  readonly rotaryDim: number;
  readonly scaling: number;
  private readonly shortInv: Float32Array;
  private readonly longInv: Float32Array | undefined;
  private readonly original: number;

  constructor(config: Phi3Config) {
    this.rotaryDim = Math.floor(headDim(config) * config.partialRotaryFactor);
    const rs = config.ropeScaling;
    this.original = config.originalMaxPositionEmbeddings;
    if (rs) {
      this.shortInv = inverseFrequencies(this.rotaryDim, config.ropeTheta, rs.shortFactor);
      this.longInv = inverseFrequencies(this.rotaryDim, config.ropeTheta, rs.longFactor);
      const factor = config.maxPositionEmbeddings / config.originalMaxPositionEmbeddings;
      this.scaling =
        rs.attentionFactor ??
        (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(config.originalMaxPositionEmbeddings)));
    } else {
      this.shortInv = inverseFrequencies(this.rotaryDim, config.ropeTheta);
      this.longInv = undefined;
      this.scaling = 1;
    }
  }

  /** `positionIds [B, T]` int32 → cos/sin tables `[B, 1, T, rotaryDim]`. */
  tables(positionIds: tf.Tensor2D): RotaryTables {
    return tf.tidy(() => {
      const [b, t] = positionIds.shape;
      const half = this.rotaryDim / 2;
      let inv: tf.Tensor = tf.tensor1d(this.shortInv);
      if (this.longInv) {
        const useLong = tf.greaterEqual(tf.max(positionIds), this.original);
        inv = tf.where(tf.broadcastTo(useLong, [half]), tf.tensor1d(this.longInv), inv);
      }
      const freqs = tf.mul(tf.reshape(tf.cast(positionIds, "float32"), [b, t, 1]), tf.reshape(inv, [1, 1, half]));
      const emb = tf.reshape(tf.concat([freqs, freqs], -1), [b, 1, t, this.rotaryDim]);
      let cos = tf.cos(emb);
      let sin = tf.sin(emb);
      if (this.scaling !== 1) {
        cos = tf.mul(cos, this.scaling);
        sin = tf.mul(sin, this.scaling);
      }
      return { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D };
    });
  }

  /** Rotates `x [B, H, T, headDim]` (its first `rotaryDim` channels; the rest pass through). */
  apply(x: tf.Tensor4D, tables: RotaryTables): tf.Tensor4D {
    return tf.tidy(() => {
      const hd = x.shape[3];
      const rot = this.rotaryDim;
      const xr = rot === hd ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, rot]);
      const [x1, x2] = tf.split(xr, 2, 3);
      const rotated = tf.concat([tf.neg(x2!), x1!], 3);
      const out = tf.add(tf.mul(xr, tables.cos), tf.mul(rotated, tables.sin));
      return (
        rot === hd ? out : tf.concat([out, tf.slice(x, [0, 0, 0, rot], [-1, -1, -1, hd - rot])], 3)
      ) as tf.Tensor4D;
    });
  }
}
