import { Module, tf } from "@birdvlm/core";
import type { ParameterInit } from "./init.js";

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
    return tf.gather(this.weight, ids.dtype === "int32" ? ids : tf.cast(ids, "int32")) as tf.Tensor3D;
  }
}
