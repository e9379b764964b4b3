import { tf } from "@birdvlm/core";

/** Options of `VisionTransformer.attentionRollout`. */
export interface RolloutOptions {
  /** How heads are combined per block. Default `mean`. */
  headFusion?: "mean" | "max" | "min";
  /** Weight of the identity (the residual path) mixed into each block's attention. Default 0.5. */
  residual?: number;
}

// Reference: Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers" (attention rollout).
/**
 * Attention rollout from each block's probabilities `[B, heads, T, T]` (in block order): heads fused and mixed with
 * the identity for the residual path, multiplied through the blocks; the first token's row over the patches (the
 * `prefix` tokens left out), scaled so each image's maximum is 1 → `[B, rows, cols]` for the patch `grid`.
 */
export function rollout(
  probs: tf.Tensor4D[],
  grid: [number, number],
  prefix: number,
  options: RolloutOptions = {},
): tf.Tensor3D {
  const residual = options.residual ?? 0.5;
  return tf.tidy(() => {
    const [b, , t] = probs[0]!.shape;
    const eye = tf.eye(t);
    let flow: tf.Tensor3D = tf.tile(tf.expandDims(eye, 0), [b, 1, 1]) as tf.Tensor3D;
    for (const p of probs) {
      const fused =
        options.headFusion === "max" ? tf.max(p, 1) : options.headFusion === "min" ? tf.min(p, 1) : tf.mean(p, 1);
      const mixed = tf.add(tf.mul(fused, 1 - residual), tf.mul(eye, residual));
      const normalized = tf.div(mixed, tf.sum(mixed, -1, true)) as tf.Tensor3D;
      flow = tf.matMul(normalized, flow);
    }
    const cls = tf.reshape(tf.slice(flow, [0, 0, prefix], [b, 1, t - prefix]), [b, t - prefix]);
    const scaled = tf.div(cls, tf.maximum(tf.max(cls, 1, true), 1e-12));
    return tf.reshape(scaled, [b, grid[0], grid[1]]) as tf.Tensor3D;
  });
}
