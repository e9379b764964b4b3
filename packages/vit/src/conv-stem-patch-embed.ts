import { Linear, Module, ParameterInit, gelu, tf } from "@birdvlm/core";
import { StemStage, StemStages, HierarchicalPatchEmbed } from "./hierarchical-patch-embed.js";
import { patchGrid } from "./patch-embed.js";

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
 * ({@link HierarchicalPatchEmbed}) the kernels overlap and cross patch borders, the locality that lets a ViT learn
 * from a few thousand images. The stages run as `tf.conv2d` (the native backend: im2col and one SGEMM). Weights are kept `[k*k*Cin, Cout]` with rows in `(ky, kx, c)` order; their
 * reference layout is PyTorch's `[Cout, Cin, k, k]`, and they start He-initialized. The paper uses BatchNorm (before
 * its ReLU); this stem LayerNorm, after the GELU (no running statistics).
 */
export class ConvStemPatchEmbed extends Module {
  readonly stem: StemStages;
  readonly proj: Linear;
  /** Side of the last convolution's kernel, `patchSize / 2^stemWidths.length`. */
  readonly lastKernel: number;

  constructor(
    readonly patchSize: number,
    readonly numChannels: number,
    readonly stemWidths: readonly number[],
    readonly dim: number,
    eps: number,
    init: ParameterInit,
  ) {
    super();
    const n = stemWidths.length;
    this.lastKernel = patchSize / 2 ** n;
    if (n === 0 || !Number.isInteger(this.lastKernel))
      throw new Error(`ConvStemPatchEmbed: patch size ${patchSize} is not a multiple of 2^${n}`);
    this.stem = this.registerModule("stem", new StemStages());
    let cin = numChannels;
    for (const width of stemWidths) {
      this.stem.add(new StemStage(cin, width, eps, heInit(init, 9 * cin), 3));
      cin = width;
    }
    const last = this.lastKernel * this.lastKernel * cin;
    this.proj = this.registerModule("proj", new Linear(last, dim, heInit(init, last)));
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

  /** The reference names of this embedding's convolution weights with their kernel sides. */
  convolutions(prefix: string): [string, number][] {
    return [
      ...this.stemWidths.map((_, i): [string, number] => [`${prefix}stem.${i}.proj.weight`, 3]),
      [`${prefix}proj.weight`, this.lastKernel],
    ];
  }

  /** In a state dict (names under `prefix`): every convolution weight → its reference `[Cout, Cin, k, k]`, in place. */
  weightsToReference(dict: Record<string, tf.Tensor>, prefix: string): void {
    for (const [name, kernel] of this.convolutions(prefix)) {
      const w = dict[name]!;
      dict[name] = HierarchicalPatchEmbed.toReference(w, kernel);
      w.dispose();
    }
  }

  /** The 2-D convolution weights from reference ones (absent or not 4-D: left out, the load names them). */
  weightsFromReference(tensors: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
    const flat: Record<string, tf.Tensor> = {};
    for (const [name] of this.convolutions(prefix)) {
      const w = tensors[name];
      if (w && w.rank === 4) flat[name] = HierarchicalPatchEmbed.fromReference(w, name);
    }
    return flat;
  }
}
