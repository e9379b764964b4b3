import {
  Bf16WeightSlot,
  Module,
  bf16MatMul,
  tf,
  type Bf16Weight,
  type ParameterInit,
  type WeightDtype,
} from "@birdvlm/core";

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
  private readonly slot: Bf16WeightSlot;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.normal([inFeatures, outFeatures]), { transposed: true });
    this.slot = new Bf16WeightSlot(this.weight, "Linear");
  }

  /** `float32` (the trainable variable) or `bfloat16` (inference only). */
  get weightDtype(): WeightDtype {
    return this.slot.dtype;
  }

  /** The bf16 weight `[in, out]` when the layer holds one. */
  get bf16Weight(): Bf16Weight | undefined {
    return this.slot.weight;
  }

  /**
   * Keeps the weight as bfloat16 `[in, out]` from now on and frees the float32 variable (its values rounded
   * to nearest even when no `weight` is given; exact for a model loaded from a BF16 checkpoint). Inference only:
   * a training forward, or saving, then fails.
   */
  useBf16(weight?: Bf16Weight): void {
    this.slot.useBf16(weight);
  }

  /** `x [..., in]` → `[..., out]`. */
  apply(x: tf.Tensor, training = false): tf.Tensor {
    this.slot.checkTraining(training);
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
      const bf16 = this.slot.weight;
      let y = bf16 ? bf16MatMul(flat, bf16) : tf.matMul(flat, this.weight);
      if (this.delta) y = tf.add(y, this.delta.apply(flat, training));
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Frees the weight (bf16 or float32). */
  override dispose(): void {
    this.slot.dispose();
    super.dispose();
  }
}
