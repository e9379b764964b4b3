import {
  Bf16WeightSlot,
  Module,
  bf16Gather,
  tf,
  type Bf16Weight,
  type ParameterInit,
  type WeightDtype,
} from "@birdvlm/core";

/**
 * Row lookup `table[ids]` whose gradient scatters the output gradient back with `scatterND` (duplicates
 * summed), since TF.js's own gather gradient needs `UnsortedSegmentSum`, which the wasm backend lacks.
 */
function lookup(table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor3D {
  const [vocab, dim] = table.shape;
  const [b, t] = ids.shape;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, i, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([i]);
    return {
      value: tf.reshape(tf.gather(w, i), [b, t, dim]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const flat = tf.reshape(saved[0]!, [b * t, 1]);
        return [tf.scatterND(flat, tf.reshape(dy, [b * t, dim]), [vocab, dim]), tf.zerosLike(saved[0]!)];
      },
    };
  });
  return f(table, ids) as tf.Tensor3D;
}

// Reference: PyTorch `torch.nn.Embedding` (torch/nn/modules/sparse.py), `Phi3Model.embed_tokens`.
/** Token embedding table `weight [vocab, D]` (same layout as the reference): float32, or bf16 for inference. */
export class Embedding extends Module {
  readonly weight: tf.Variable;
  private readonly slot: Bf16WeightSlot;

  constructor(
    readonly vocabSize: number,
    readonly dim: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.normal([vocabSize, dim]));
    this.slot = new Bf16WeightSlot(this.weight, "Embedding");
  }

  /** `float32` (the trainable variable) or `bfloat16` (inference only). */
  get weightDtype(): WeightDtype {
    return this.slot.dtype;
  }

  /** The bf16 table `[vocab, D]` when the layer holds one. */
  get bf16Weight(): Bf16Weight | undefined {
    return this.slot.weight;
  }

  /** Keeps the table as bfloat16 from now on (rounded to nearest even when no `weight` is given) and frees the float32 variable. */
  useBf16(weight?: Bf16Weight): void {
    this.slot.useBf16(weight);
  }

  /** `ids [B, T]` int32 → `[B, T, D]`. */
  apply(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const i = ids.dtype === "int32" ? ids : (tf.cast(ids, "int32") as tf.Tensor2D);
      const bf16 = this.slot.weight;
      return bf16 ? (bf16Gather(bf16, i) as tf.Tensor3D) : lookup(this.weight as tf.Tensor2D, i);
    });
  }

  /** Frees the table (bf16 or float32). */
  override dispose(): void {
    this.slot.dispose();
    super.dispose();
  }
}
