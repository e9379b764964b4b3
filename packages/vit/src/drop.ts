import { tf } from "@birdvlm/core";

/** Inverted dropout: zeroes each element with probability `rate` and scales the rest by `1/(1-rate)`. */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", seed), rate), "float32");
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
  });
}

/**
 * Stochastic depth (timm `DropPath`) on a residual branch `[B, ...]`: each sample's whole branch is zeroed with
 * probability `rate`, kept ones are scaled by `1/(1-rate)`.
 */
export function dropPath(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.tidy(() => {
    const maskShape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
    const keep = tf.cast(tf.greaterEqual(tf.randomUniform(maskShape, 0, 1, "float32", seed), rate), "float32");
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
  });
}
