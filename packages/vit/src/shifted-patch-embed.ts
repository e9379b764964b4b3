import { Linear, Module, tf, type ParameterInit } from "@birdvlm/core";
import { LayerNorm } from "./layer-norm.js";
import { patchGrid, patchRows, projFromReference, projToReference } from "./patch-embed.js";

// Reference: Lee, Lee & Song 2021, "Vision Transformer for Small-Size Datasets", Shifted Patch Tokenization
// (its PyTorch code: `ShiftedPatchTokenization` in aanna0701/SPT_LSA_ViT).
/**
 * Shifted patch tokenization (SPT): the image is concatenated along its channels with four copies of itself
 * shifted by half a patch diagonally (left-up, right-up, left-down, right-down; zeros where a copy leaves the
 * frame), so each `p x p` patch also sees the pixels half a patch around it; then each patch of those `5C`
 * channels is flattened, layer-normed (`norm`) and projected to the token width (`proj`). It gives a ViT the
 * wider, overlapping receptive field that small datasets need, for one larger matmul.
 *
 * Patches are flattened in PyTorch's `(C, p, p)` order (the paper's code flattens `(p, p, C)`; the norm's and the
 * projection's weights are permuted alike, so the model is the same), and `proj.weight`'s reference layout is a
 * convolution's `[D, 5C, p, p]`, as {@link PatchEmbed}'s. The shifts act on the input only, off any path from the
 * weights, so training computes no gradient for them.
 */
export class ShiftedPatchEmbed extends Module {
  readonly norm: LayerNorm;
  readonly proj: Linear;

  constructor(
    readonly patchSize: number,
    readonly numChannels: number,
    readonly dim: number,
    eps: number,
    init: ParameterInit,
  ) {
    super();
    if (patchSize < 2) throw new Error(`ShiftedPatchEmbed: patch size ${patchSize} has no half-patch shift`);
    const patchDim = 5 * numChannels * patchSize * patchSize;
    this.norm = this.registerModule("norm", new LayerNorm(patchDim, eps, init));
    this.proj = this.registerModule("proj", new Linear(patchDim, dim, init));
  }

  /** Half a patch, rounded down: how far each shifted copy moves. */
  get shift(): number {
    return Math.floor(this.patchSize / 2);
  }

  /** `[B, H, W, C]` → `[B, H, W, 5C]`: the image, then its left-up, right-up, left-down and right-down shifts. */
  shifted(images: tf.Tensor4D): tf.Tensor4D {
    const [b, hgt, wid, c] = images.shape;
    const s = this.shift;
    return tf.tidy(() => {
      const padded = tf.pad(images, [
        [0, 0],
        [s, s],
        [s, s],
        [0, 0],
      ]);
      // The padded image read from (0, 0) is the copy moved s right and down; from (2s, 2s), s left and up.
      const at = (top: number, left: number): tf.Tensor4D => tf.slice(padded, [0, top, left, 0], [b, hgt, wid, c]);
      return tf.concat([images, at(0, 0), at(0, 2 * s), at(2 * s, 0), at(2 * s, 2 * s)], 3) as tf.Tensor4D;
    });
  }

  /** `[B, H, W, C]` → `[B, (H/p)*(W/p), D]`, row-major over the patch grid. */
  forward(images: tf.Tensor4D): tf.Tensor3D {
    const [b, gh, gw] = patchGrid("ShiftedPatchEmbed", images, this.numChannels, this.patchSize);
    const patches = patchRows(this.shifted(images), this.patchSize);
    return tf.reshape(this.proj.forward(this.norm.forward(patches)), [b, gh * gw, this.dim]) as tf.Tensor3D;
  }

  /** In a state dict (names under `prefix`): `proj.weight` `[D, 5C*p*p]` → the reference `[D, 5C, p, p]`, in place. */
  weightsToReference(dict: Record<string, tf.Tensor>, prefix: string): void {
    projToReference(dict, prefix, this.patchSize);
  }

  /** The 2-D `proj.weight` from a reference `[D, 5C, p, p]` (absent or not 4-D: nothing, the load names it). */
  weightsFromReference(tensors: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
    return projFromReference(tensors, prefix);
  }
}
