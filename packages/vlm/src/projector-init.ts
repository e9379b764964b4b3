import { tf } from "@birdvlm/core";
import type { MlpProjector } from "@birdvlm/projector";

/** A classifier head `[.., D] → [.., C]`: weight `[D, C]` (kept `[in, out]`), bias `[C]`. */
export interface ClassifierHead {
  weight: tf.Tensor;
  bias?: tf.Tensor;
}

/**
 * Starts an MLP projector from the encoder's classifier head: the first C units of `linear_1` (of `hiddenDim` ≥ C)
 * become the head's C class scores, the rest keep their initial values. The pooled-embedding token (pooling
 * `withPooled`: the vector the head reads) then carries the head's class evidence into the language model from the first step, and the patch
 * tokens carry per-region class scores; instead of learning species from the training images' features anew
 * (which the encoder already fits), the VLM starts from what generalized.
 * @throws when the projector's input width is not the head's, or its hidden layer is narrower than C.
 */
export function initProjectorFromHead(projector: MlpProjector, head: ClassifierHead): void {
  const w = projector.linear1.weight;
  const [d, c] = head.weight.shape as [number, number];
  const [inDim, hidden] = w.shape as [number, number];
  if (d !== inDim)
    throw new Error(`initProjectorFromHead: the head reads width ${d}, the projector takes width ${inDim}`);
  if (hidden < c)
    throw new Error(
      `initProjectorFromHead: the projector's hidden layer has ${hidden} units, fewer than the head's ${c} classes (set hiddenDim ≥ ${c})`,
    );
  w.assign(tf.tidy(() => tf.concat([head.weight, tf.slice(w, [0, c], [-1, -1])], 1)));
  const b = projector.linear1.bias;
  if (b) b.assign(tf.tidy(() => tf.concat([head.bias ?? tf.zeros([c]), tf.slice(b, [c], [-1])], 0) as tf.Tensor1D));
}
