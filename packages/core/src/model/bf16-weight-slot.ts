import type { tf } from "../tf.js";
import { Bf16Weight } from "../ops/bf16-matmul.js";

/** The dtype a layer holds its weight in: `float32` (the trainable variable) or `bfloat16` (inference only). */
export type WeightDtype = "float32" | "bfloat16";

/**
 * A layer's 2-D weight as either its float32 variable or, for inference only, a {@link Bf16Weight} of the same
 * shape. `useBf16` swaps the bf16 copy in and frees the variable; from then on the layer refuses training.
 * One helper for every layer that can hold bf16 weights (`Linear`, embeddings).
 */
export class Bf16WeightSlot {
  private bf16: Bf16Weight | undefined;

  /** `variable` is the layer's float32 weight `[rows, cols]`; `owner` names the layer in errors. */
  constructor(
    private readonly variable: tf.Variable,
    private readonly owner: string,
  ) {}

  /** `float32` until {@link useBf16}, then `bfloat16`. */
  get dtype(): WeightDtype {
    return this.bf16 ? "bfloat16" : "float32";
  }

  /** The bf16 weight when the layer holds one. */
  get weight(): Bf16Weight | undefined {
    return this.bf16;
  }

  /**
   * Keeps the weight as bfloat16 from now on and frees the float32 variable: `weight` when given (its shape must
   * be the variable's), else the variable's values rounded to nearest even.
   */
  useBf16(weight?: Bf16Weight): void {
    if (this.bf16) throw new Error(`${this.owner}.useBf16: the weight is already bfloat16`);
    const w = weight ?? Bf16Weight.fromTensor(this.variable as tf.Tensor2D);
    const [rows, cols] = this.variable.shape;
    if (w.shape[0] !== rows || w.shape[1] !== cols) {
      throw new Error(`${this.owner}.useBf16: a bf16 weight [${w.shape}] for a weight [${rows}, ${cols}]`);
    }
    this.bf16 = w;
    this.variable.dispose();
  }

  /** Throws when a training pass meets a bf16 weight. */
  checkTraining(training: boolean): void {
    if (this.bf16 && training) {
      throw new Error(
        `${this.owner}: this layer holds bfloat16 weights (inference only); load the model in float32 to train`,
      );
    }
  }

  /** Frees the bf16 weight, if any (the layer's `dispose` frees the variable). */
  dispose(): void {
    this.bf16?.dispose();
    this.bf16 = undefined;
  }
}
