import { tf } from "../tf.js";
import { Module } from "./module.js";
import { Bf16WeightSlot, type WeightDtype } from "./bf16-weight-slot.js";
import type { ParameterInit } from "./parameter-init.js";
import { Bf16Weight, bf16MatMul } from "../ops/bf16-matmul.js";
import { biasActivation, linearActivation, type Activation } from "../ops/bias-activation.js";
import { gradientsRecorded } from "../ops/fused-kernel.js";

/** Something added to a linear layer's output before its activation (a LoRA adapter). */
export interface LinearDelta {
  /** `x [N, in]` → `[N, out]`, added to the layer's product. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

/** Options of the {@link Linear} constructor. */
export interface LinearOptions {
  /** With a bias `[out]`. Default `true`. */
  bias?: boolean;
}

/** Options of {@link Linear.forward}. */
export interface LinearForwardOptions {
  /** Applied to `x W + b` (one kernel with the product where the backend fuses them, outside gradient recording). */
  activation?: Activation;
  /** A training pass: passed to the {@link Linear.delta}; refused with bf16 weights. Default `false`. */
  training?: boolean;
  /**
   * `x` is data that no trained parameter produced (a ViT's image patches). Under a gradient tape the product and
   * the bias then run as two ops, whose gradients TF.js computes input by input, so `x`'s gradient, which the
   * fused product's gradient always computes, is skipped unless something asks for it. The same values either
   * way. Default `false`.
   */
  dataInput?: boolean;
}

/** A {@link Linear} built with its bias (the default), typed so. */
export type LinearWithBias = Linear & { readonly bias: tf.Variable };

// Reference: PyTorch `torch.nn.Linear` (torch/nn/modules/linear.py).
/**
 * A dense layer `y = act(x W + b)`: `[..., in]` → `[..., out]`. `weight` is kept `[in, out]` (one product, no
 * transpose per call); its reference name and layout are PyTorch's `[out, in]`, transposed once on load and
 * back on save. The bias is optional; initial values follow the {@link ParameterInit}'s `linear` scheme. For
 * inference the weight can be held as bfloat16 ({@link Linear.useBf16}), and an adapter (LoRA) can add its
 * update to the product ({@link Linear.delta}).
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  /** Added to the product when set (`applyLoRA`); not a registered child, so the checkpoint names stay. */
  delta: LinearDelta | undefined;
  private readonly slot: Bf16WeightSlot;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: ParameterInit,
    options: LinearOptions = {},
  ) {
    super();
    this.weight = this.registerParameter("weight", init.linearWeight(inFeatures, outFeatures), { transposed: true });
    if (options.bias ?? true) this.bias = this.registerParameter("bias", init.linearBias(inFeatures, outFeatures));
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
   * Keeps the weight as bfloat16 `[in, out]` from now on and frees the float32 variable (its values rounded to
   * nearest even when no `weight` is given; exact for a model loaded from a BF16 checkpoint). Inference only:
   * a training forward, or saving, then fails.
   */
  useBf16(weight?: Bf16Weight): void {
    this.slot.useBf16(weight);
  }

  /** `x [..., in]` → `[..., out]`. */
  forward(x: tf.Tensor, options: LinearForwardOptions = {}): tf.Tensor {
    const { activation, training = false, dataInput = false } = options;
    this.slot.checkTraining(training);
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
      const bf16 = this.slot.weight;
      const w = this.weight as tf.Tensor2D;
      let y: tf.Tensor2D;
      if (bf16 || this.delta) {
        y = bf16 ? bf16MatMul(flat, bf16) : tf.matMul(flat, w);
        if (this.delta) y = tf.add(y, this.delta.apply(flat, training));
        if (activation) y = biasActivation(y, this.bias ?? null, activation);
        else if (this.bias) y = tf.add(y, this.bias) as tf.Tensor2D;
      } else if (activation) {
        y = linearActivation(flat, w, this.bias ?? null, activation);
      } else if (this.bias && !(dataInput && gradientsRecorded())) {
        y = tf.fused.matMul({ a: flat, b: w, bias: this.bias }) as tf.Tensor2D;
      } else {
        y = tf.matMul(flat, w);
        if (this.bias) y = tf.add(y, this.bias) as tf.Tensor2D;
      }
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Frees the weight (bf16 or float32) and the bias. */
  override dispose(): void {
    this.slot.dispose();
    super.dispose();
  }
}
