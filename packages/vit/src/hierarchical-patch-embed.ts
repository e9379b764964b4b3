import { Linear, Module, gelu, tf, type ParameterInit } from "@birdvlm/core";
import { LayerNorm } from "./layer-norm.js";
import { patchGrid } from "./patch-embed.js";

// Reference: Touvron et al. 2022, "Three things everyone should know about Vision Transformers", the hMLP stem
// (its PyTorch form: stride-k k x k convolutions, each but the last followed by a norm and GELU).
/**
 * A hierarchical patch embedding (hMLP stem): each `p x p` patch goes through stride-2 `2 x 2` convolutions
 * (`stem.{i}.proj`, widths `stemWidths`), each followed by a LayerNorm over the channels and an exact GELU, then a
 * stride-`k` `k x k` convolution to the token width (`proj`, `k = p / 2^n`). The convolutions never cross a patch
 * border, so each is one matmul over a reordering of the pixels done once: a patch's pixels are laid out so that
 * every `2 x 2` group of one level is contiguous. Weights are kept `[k*k*Cin, Cout]` with rows in `(ky, kx, c)`
 * order; their reference layout is PyTorch's `[Cout, Cin, k, k]` (converted by {@link toReference} and
 * {@link fromReference}). The stem gives a ViT the locality of a convolutional stem at the cost of a few small
 * matmuls; the paper uses BatchNorm, this stem LayerNorm (no running statistics).
 */
export class HierarchicalPatchEmbed extends Module {
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
      throw new Error(`HierarchicalPatchEmbed: patch size ${patchSize} is not a multiple of 2^${n}`);
    this.stem = this.registerModule("stem", new StemStages());
    let cin = numChannels;
    for (const width of stemWidths) {
      this.stem.add(new StemStage(cin, width, eps, init));
      cin = width;
    }
    this.proj = this.registerModule("proj", new Linear(this.lastKernel * this.lastKernel * cin, dim, init));
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

  /** Reference `[Cout, Cin, k, k]` → `[Cout, k*k*Cin]` (the `(ky, kx, c)` rows the transposed variable takes). */
  static fromReference(t: tf.Tensor, name: string): tf.Tensor {
    if (t.rank !== 4) throw new Error(`${name}: expected [Cout, Cin, k, k], got [${t.shape}]`);
    return tf.tidy(() => tf.reshape(tf.transpose(t, [0, 2, 3, 1]), [t.shape[0]!, -1]));
  }

  /** `[Cout, k*k*Cin]` → the reference `[Cout, Cin, k, k]`. */
  static toReference(t: tf.Tensor, kernel: number): tf.Tensor {
    const [out, inner] = t.shape as [number, number];
    return tf.tidy(() => tf.transpose(tf.reshape(t, [out, kernel, kernel, inner / (kernel * kernel)]), [0, 3, 1, 2]));
  }

  /** The reference names of this embedding's convolution weights with their kernel sides. */
  convolutions(prefix: string): [string, number][] {
    return [
      ...this.stemWidths.map((_, i): [string, number] => [`${prefix}stem.${i}.proj.weight`, 2]),
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

/**
 * One stem stage: a stride-2 `kernel x kernel` convolution over `(ky, kx, c)` rows, a LayerNorm over the channels, a
 * GELU (kernel 2: the hMLP stem's; 3: the convolutional stem's).
 */
export class StemStage extends Module {
  readonly proj: Linear;
  readonly norm: LayerNorm;

  constructor(
    readonly inChannels: number,
    readonly width: number,
    eps: number,
    init: ParameterInit,
    readonly kernel = 2,
  ) {
    super();
    this.proj = this.registerModule("proj", new Linear(kernel * kernel * inChannels, width, init));
    this.norm = this.registerModule("norm", new LayerNorm(width, eps, init));
  }

  /** Rows whose consecutive groups of `kernel²` pixels are one output pixel's taps each → `[pixels, width]`. */
  forward(x: tf.Tensor): tf.Tensor {
    const taps = this.kernel * this.kernel * this.inChannels;
    return gelu(this.norm.forward(this.proj.forward(tf.reshape(x, [-1, taps]))));
  }
}

/** The stem stages under their indices (`stem.0`, `stem.1`, ...). */
export class StemStages extends Module {
  readonly items: StemStage[] = [];
  /** Appends a stage under the next index. */
  add(stage: StemStage): void {
    this.items.push(this.registerModule(String(this.items.length), stage));
  }
}
