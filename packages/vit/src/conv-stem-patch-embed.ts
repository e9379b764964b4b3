import { ParameterInit, gelu, tf } from "@birdvlm/core";
import { patchGrid } from "./patch-embed.js";
import { StemPatchEmbed } from "./stem-patch-embed.js";

/**
 * He initialization for a convolution of `fanIn` inputs (weights N(0, 2/fanIn), zero biases), seeded from `init`: a
 * stack of convolutions keeps its signal only at this scale (timm's std 0.02 shrinks it stage after stage).
 */
function heInit(init: ParameterInit, fanIn: number): ParameterInit {
  return new ParameterInit(init.nextSeed(), { linear: "normal", std: Math.sqrt(2 / fanIn), mode: init.mode });
}

/** Zero padding 1 on each side of the height and width: a stride-2 `3 x 3` convolution halves an even size. */
const SAME_PAD: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

// Reference: Xiao et al. 2021, "Early Convolutions Help Transformers See Better" (a stack of stride-2 3x3
// convolutions with a norm and an activation, then a convolution to the token width).
/**
 * A convolutional stem: stride-2 `3 x 3` convolutions with zero padding 1 over the whole image (`stem.{i}.proj`,
 * widths `stemWidths`), each followed by an exact GELU and a LayerNorm over the channels, then a stride-`k`
 * `k x k` convolution to the token width (`proj`, `k = p / 2^n`, usually 1). Unlike the hMLP stem
 * (`HierarchicalPatchEmbed`) the kernels overlap and cross patch borders. The stages run as `tf.conv2d` (on the
 * native backend: im2col and one SGEMM); weights and their conversion as {@link StemPatchEmbed}, He-initialized.
 * The paper uses BatchNorm before its ReLU; this stem LayerNorm, after the GELU (no running statistics).
 */
export class ConvStemPatchEmbed extends StemPatchEmbed {
  constructor(
    patchSize: number,
    numChannels: number,
    stemWidths: readonly number[],
    dim: number,
    eps: number,
    init: ParameterInit,
  ) {
    super("ConvStemPatchEmbed", patchSize, numChannels, stemWidths, dim, eps, init, 3, (fanIn) => heInit(init, fanIn));
  }

  /** `[B, H, W, C]` → `[B, (H/p)*(W/p), D]`, row-major over the patch grid. */
  forward(images: tf.Tensor4D): tf.Tensor3D {
    const [b, gh, gw] = patchGrid("ConvStemPatchEmbed", images, this.numChannels, this.patchSize);
    let x: tf.Tensor4D = images;
    for (const stage of this.stem.items) {
      const filter = tf.reshape(stage.proj.weight, [3, 3, stage.inChannels, stage.width]) as tf.Tensor4D;
      // GELU before the norm, so each stage hands the next a zero-mean input. In the other order (norm, then
      // GELU) the positive mean of GELU's outputs gives every pixel of the next convolution one shared large
      // vector, which that stage's norm keeps and the image's signal fades under: such a ViT cannot even
      // memorize 32 images.
      x = stage.norm.forward(gelu(tf.conv2d(x, filter, 2, SAME_PAD), { bias: stage.proj.bias })) as tf.Tensor4D;
    }
    const k = this.lastKernel;
    const c = x.shape[3];
    const rows = tf.reshape(tf.transpose(tf.reshape(x, [b, gh, k, gw, k, c]), [0, 1, 3, 2, 4, 5]), [-1, k * k * c]);
    return tf.reshape(this.proj.forward(rows), [b, gh * gw, this.dim]) as tf.Tensor3D;
  }
}
