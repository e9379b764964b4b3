import { tf, type ParameterInit } from "@birdvlm/core";
import { patchGrid } from "./patch-embed.js";
import { StemPatchEmbed } from "./stem-patch-embed.js";

// Reference: Touvron et al. 2022, "Three things everyone should know about Vision Transformers", the hMLP stem
// (its PyTorch form: stride-k k x k convolutions, each but the last followed by a norm and GELU).
/**
 * A hierarchical patch embedding (hMLP stem): each `p x p` patch goes through stride-2 `2 x 2` convolutions
 * (`stem.{i}.proj`, widths `stemWidths`), each followed by a LayerNorm over the channels and an exact GELU, then a
 * stride-`k` `k x k` convolution to the token width (`proj`, `k = p / 2^n`). The convolutions never cross a patch
 * border, so each is one matmul over a reordering of the pixels done once: a patch's pixels are laid out so that
 * every `2 x 2` group of one level is contiguous. Weights and their conversion: {@link StemPatchEmbed}. The stem gives a ViT the locality of a convolutional stem at the cost of a few small
 * matmuls; the paper uses BatchNorm, this stem LayerNorm (no running statistics).
 */
export class HierarchicalPatchEmbed extends StemPatchEmbed {
  constructor(
    patchSize: number,
    numChannels: number,
    stemWidths: readonly number[],
    dim: number,
    eps: number,
    init: ParameterInit,
  ) {
    super("HierarchicalPatchEmbed", patchSize, numChannels, stemWidths, dim, eps, init, 2);
  }

  /** `[B, H, W, C]` → `[B, (H/p)*(W/p), D]`, row-major over the patch grid. */
  forward(images: tf.Tensor4D): tf.Tensor3D {
    const c = images.shape[3];
    const p = this.patchSize;
    const [b, gh, gw] = patchGrid("HierarchicalPatchEmbed", images, this.numChannels, p);
    const patches = b * gh * gw;
    let x: tf.Tensor = tf.reshape(tf.transpose(tf.reshape(images, [b, gh, p, gw, p, c]), [0, 1, 3, 2, 4, 5]), [
      patches,
      ...this.levels(),
      ...this.levels(),
      c,
    ]);
    x = tf.transpose(x, this.interleave());
    for (const stage of this.stem.items) x = stage.forward(x);
    const last = this.lastKernel * this.lastKernel * this.stemWidths[this.stemWidths.length - 1]!;
    return tf.reshape(this.proj.forward(tf.reshape(x, [patches, last])), [b, gh * gw, this.dim]) as tf.Tensor3D;
  }

  /** One side of a patch split into levels, coarsest first: the last kernel, then a 2 per stem stage (size-1 dropped). */
  private levels(): number[] {
    return [this.lastKernel, ...this.stemWidths.map(() => 2)].filter((s) => s > 1);
  }

  /** `[P, rows..., cols..., C]` → `[P, (row, col) per level coarsest first, C]`. */
  private interleave(): number[] {
    const n = this.levels().length;
    const perm = [0];
    for (let i = 0; i < n; i++) perm.push(1 + i, 1 + n + i);
    return [...perm, 1 + 2 * n];
  }
}
