import { Bf16Weight, Module, bf16MatMul, tf, type ParameterInit } from "@birdvlm/core";

/** Something added to a linear layer's output (a LoRA adapter). */
export interface LinearDelta {
  /** `x [..., in]` → `[..., out]`, added to the layer's output. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

/**
 * A bias-free linear layer `y = x W`. The weight is kept `[in, out]` (reference name `weight`, reference layout
 * PyTorch's `[out, in]`): a float32 variable, or for inference only, bfloat16 (see {@link Linear.useBf16}).
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  /** Set by `applyLoRA`; not a registered child, so the checkpoint names stay those of the reference. */
  delta: LinearDelta | undefined;
  private bf16: Bf16Weight | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.normal([inFeatures, outFeatures]), { transposed: true });
  }

  /** `float32` (the trainable variable) or `bfloat16` (inference only). */
  get weightDtype(): "float32" | "bfloat16" {
    return this.bf16 ? "bfloat16" : "float32";
  }

  /** The bf16 weight `[in, out]` when the layer holds one. */
  get bf16Weight(): Bf16Weight | undefined {
    return this.bf16;
  }

  /**
   * Keeps the weight as bfloat16 `[in, out]` from now on and frees the float32 variable (its values rounded
   * to nearest even when no `weight` is given; exact for a model loaded from a BF16 checkpoint). Inference only:
   * a training forward, or saving, then fails.
   */
  useBf16(weight?: Bf16Weight): void {
    if (this.bf16) throw new Error("Linear.useBf16: the weight is already bfloat16");
    const w = weight ?? Bf16Weight.fromTensor(this.weight as tf.Tensor2D);
    if (w.shape[0] !== this.inFeatures || w.shape[1] !== this.outFeatures) {
      throw new Error(`Linear.useBf16: weight [${w.shape}] for a layer [${this.inFeatures}, ${this.outFeatures}]`);
    }
    this.bf16 = w;
    this.weight.dispose();
  }

  /** `x [..., in]` → `[..., out]`. */
  apply(x: tf.Tensor, training = false): tf.Tensor {
    if (this.bf16 && training) {
      throw new Error("Linear: this layer holds bfloat16 weights (inference only); load the model in float32 to train");
    }
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
      let y = this.bf16 ? bf16MatMul(flat, this.bf16) : tf.matMul(flat, this.weight);
      if (this.delta) y = tf.add(y, this.delta.apply(flat, training));
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Frees the weight (bf16 or float32). */
  override dispose(): void {
    this.bf16?.dispose();
    this.bf16 = undefined;
    super.dispose();
  }
}
