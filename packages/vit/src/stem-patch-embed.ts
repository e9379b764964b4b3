import { Linear, Module, gelu, tf, type ParameterInit } from "@birdvlm/core";
import { LayerNorm } from "./layer-norm.js";

/**
 * What the two stem patch embeddings share (the hMLP stem, `HierarchicalPatchEmbed`, and the convolutional
 * stem, `ConvStemPatchEmbed`): stride-2 `kernel x kernel` stages (`stem.{i}`, widths `stemWidths`), then a
 * stride-`k` `k x k` convolution to the token width (`proj`, `k = p / 2^n`), and their weights' conversion. Weights
 * are kept `[k*k*Cin, Cout]` with rows in `(ky, kx, c)` order; their reference layout is PyTorch's
 * `[Cout, Cin, k, k]` ({@link StemPatchEmbed.toReference}, {@link StemPatchEmbed.fromReference}).
 */
export abstract class StemPatchEmbed extends Module {
  readonly stem: StemStages;
  readonly proj: Linear;
  /** Side of the last convolution's kernel, `patchSize / 2^stemWidths.length`. */
  readonly lastKernel: number;

  /**
   * @param kernel the stages' kernel side (2 or 3).
   * @param initFor the initializer of a convolution with `fanIn` inputs (default: `init` itself).
   */
  constructor(
    who: string,
    readonly patchSize: number,
    readonly numChannels: number,
    readonly stemWidths: readonly number[],
    readonly dim: number,
    eps: number,
    init: ParameterInit,
    readonly kernel: number,
    initFor: (fanIn: number) => ParameterInit = () => init,
  ) {
    super();
    const n = stemWidths.length;
    this.lastKernel = patchSize / 2 ** n;
    if (n === 0 || !Number.isInteger(this.lastKernel))
      throw new Error(`${who}: patch size ${patchSize} is not a multiple of 2^${n}`);
    this.stem = this.registerModule("stem", new StemStages());
    let cin = numChannels;
    for (const width of stemWidths) {
      this.stem.add(new StemStage(cin, width, eps, initFor(kernel * kernel * cin), kernel));
      cin = width;
    }
    const last = this.lastKernel * this.lastKernel * cin;
    this.proj = this.registerModule("proj", new Linear(last, dim, initFor(last)));
  }

  /** `[B, H, W, C]` → `[B, (H/p)*(W/p), D]`, row-major over the patch grid. */
  abstract forward(images: tf.Tensor4D): tf.Tensor3D;

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
      ...this.stemWidths.map((_, i): [string, number] => [`${prefix}stem.${i}.proj.weight`, this.kernel]),
      [`${prefix}proj.weight`, this.lastKernel],
    ];
  }

  /** In a state dict (names under `prefix`): every convolution weight → its reference `[Cout, Cin, k, k]`, in place. */
  weightsToReference(dict: Record<string, tf.Tensor>, prefix: string): void {
    for (const [name, kernel] of this.convolutions(prefix)) {
      const w = dict[name]!;
      dict[name] = StemPatchEmbed.toReference(w, kernel);
      w.dispose();
    }
  }

  /** The 2-D convolution weights from reference ones (absent or not 4-D: left out, the load names them). */
  weightsFromReference(tensors: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
    const flat: Record<string, tf.Tensor> = {};
    for (const [name] of this.convolutions(prefix)) {
      const w = tensors[name];
      if (w && w.rank === 4) flat[name] = StemPatchEmbed.fromReference(w, name);
    }
    return flat;
  }
}

/**
 * One stem stage: a stride-2 `kernel x kernel` convolution over `(ky, kx, c)` rows, a LayerNorm over the channels, a
 * GELU (kernel 2: the hMLP stem's; 3: the convolutional stem's, which applies them in its own order).
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
