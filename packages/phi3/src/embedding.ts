import { Module, tf } from "@birdvlm/core";
import type { ParameterInit } from "./init.js";

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

/** Token embedding table `weight [vocab, D]` (same layout as the reference). */
export class Embedding extends Module {
  readonly weight: tf.Variable;

  constructor(
    readonly vocabSize: number,
    readonly dim: number,
    init: ParameterInit,
  ) {
    super();
    this.weight = this.registerParameter("weight", init.normal([vocabSize, dim]));
  }

  /** `ids [B, T]` int32 → `[B, T, D]`. */
  apply(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => lookup(this.weight as tf.Tensor2D, ids.dtype === "int32" ? ids : (tf.cast(ids, "int32") as tf.Tensor2D)));
  }
}
