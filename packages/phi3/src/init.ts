import { tf } from "@birdvlm/core";

/** How new parameters are filled: seeded normal draws (training from scratch) or zeros (before loading). */
export type InitMode = "random" | "zeros";

/**
 * Hands out parameter initial values: `normal(shape)` draws N(0, std²) with a seed derived from the base seed
 * and a counter, so the same seed gives the same model.
 */
export class ParameterInit {
  private counter = 0;

  constructor(
    readonly mode: InitMode,
    readonly std: number,
    readonly seed: number,
  ) {}

  /** N(0, std²) (or zeros). */
  normal(shape: number[]): tf.Tensor {
    // Never 0: TF.js reads a seed of 0 as "no seed" and would draw fresh random values.
    const seed = ((this.seed * 1000003 + this.counter++ * 7919) % 2147483646) + 1;
    return this.mode === "zeros" ? tf.zeros(shape) : tf.randomNormal(shape, 0, this.std, "float32", seed);
  }

  /** All ones (norm weights). */
  ones(shape: number[]): tf.Tensor {
    return tf.ones(shape);
  }

  /** All zeros. */
  zeros(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }
}
