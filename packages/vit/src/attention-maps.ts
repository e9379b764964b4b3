import { tf } from "@birdvlm/core";
import type { ImageBatch } from "@birdvlm/core";
import type { VisionTransformer } from "./vision-transformer.js";

/**
 * Attention probabilities of every block for a batch: one `[B, heads, T, T]` per block (row = query token).
 * The caller disposes them.
 */
export function attentionProbabilities(model: VisionTransformer, images: ImageBatch): tf.Tensor4D[] {
  const recorded: tf.Tensor4D[] = [];
  tf.tidy(() => {
    model.forward(images, { training: false, attention: recorded });
  });
  // The attention pool (if any) records last; keep the blocks only.
  tf.dispose(recorded.slice(model.config.depth));
  return recorded.slice(0, model.config.depth);
}

/**
 * How much the class token attends to each patch, per block and head: `[B, depth, heads, rows, cols]`.
 * Needs a class token.
 */
export function attentionMaps(model: VisionTransformer, images: ImageBatch): tf.Tensor5D {
  if (!model.config.classToken)
    throw new Error("attentionMaps: the model has no class token; use attentionProbabilities");
  const probs = attentionProbabilities(model, images);
  try {
    return tf.tidy(() => {
      const [b, h, t] = probs[0]!.shape;
      const side = [images.shape[1] / model.config.patchSize, images.shape[2] / model.config.patchSize];
      const p0 = model.numPrefixTokens;
      const fromCls = probs.map((p) => tf.slice(p, [0, 0, 0, p0], [b, h, 1, t - p0]));
      return tf.reshape(tf.stack(fromCls, 1), [b, probs.length, h, side[0]!, side[1]!]) as tf.Tensor5D;
    });
  } finally {
    tf.dispose(probs);
  }
}

/** Options of {@link attentionRollout}. */
export interface RolloutOptions {
  /** How heads are combined per block. Default `mean`. */
  headFusion?: "mean" | "max" | "min";
  /** Weight of the identity (the residual path) mixed into each block's attention. Default 0.5. */
  residual?: number;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): the per-block attention, heads fused and mixed with the identity
 * for the residual path, multiplied through the blocks; the class token's row over the patches, scaled so
 * each image's maximum is 1. Images `[B, H, W, C]` → heat map `[B, rows, cols]`. Needs a class token.
 */
export function attentionRollout(
  model: VisionTransformer,
  images: ImageBatch,
  options: RolloutOptions = {},
): tf.Tensor3D {
  if (!model.config.classToken) throw new Error("attentionRollout: the model has no class token");
  const residual = options.residual ?? 0.5;
  const probs = attentionProbabilities(model, images);
  try {
    return tf.tidy(() => {
      const [b, , t] = probs[0]!.shape;
      const eye = tf.eye(t);
      let rollout: tf.Tensor3D = tf.tile(tf.expandDims(eye, 0), [b, 1, 1]) as tf.Tensor3D;
      for (const p of probs) {
        const fused =
          options.headFusion === "max" ? tf.max(p, 1) : options.headFusion === "min" ? tf.min(p, 1) : tf.mean(p, 1);
        const mixed = tf.add(tf.mul(fused, 1 - residual), tf.mul(eye, residual));
        const normalized = tf.div(mixed, tf.sum(mixed, -1, true)) as tf.Tensor3D;
        rollout = tf.matMul(normalized, rollout);
      }
      const side = [images.shape[1] / model.config.patchSize, images.shape[2] / model.config.patchSize];
      const p0 = model.numPrefixTokens;
      const cls = tf.reshape(tf.slice(rollout, [0, 0, p0], [b, 1, t - p0]), [b, t - p0]);
      const scaled = tf.div(cls, tf.maximum(tf.max(cls, 1, true), 1e-12));
      return tf.reshape(scaled, [b, side[0]!, side[1]!]) as tf.Tensor3D;
    });
  } finally {
    tf.dispose(probs);
  }
}
