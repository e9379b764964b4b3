import { tf } from "@birdvlm/core";

/**
 * Seeded initial values for parameters, as timm initializes a ViT: truncated normal (std 0.02) for linear
 * and patch weights and position embeddings, zeros for biases, ones for norm scales. The same seed gives
 * the same values in the same order of calls.
 */
export class ParameterInit {
  private counter = 0;
  private readonly seed: number;

  /** `seed` undefined: a fresh random seed. */
  constructor(seed?: number) {
    this.seed = seed ?? Math.floor(Math.random() * 2 ** 31);
  }

  private next(): number {
    this.counter += 1;
    // Never 0: TF.js reads a seed of 0 as "no seed" and would draw fresh random values.
    return (Math.imul(this.seed ^ 0x5bd1e995, 2654435761) + Math.imul(this.counter, 40503)) >>> 1 || 1;
  }

  /** Normal values truncated at ±2 std (timm's `trunc_normal_(std=0.02)` for linear weights). */
  truncNormal(shape: number[], std = 0.02): tf.Tensor {
    return tf.truncatedNormal(shape, 0, std, "float32", this.next());
  }

  /** Plain normal values (timm draws the class token with std 1e-6). */
  normal(shape: number[], std: number): tf.Tensor {
    return tf.randomNormal(shape, 0, std, "float32", this.next());
  }

  /** Zeros (biases). */
  zeros(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }

  /** Ones (norm scales). */
  ones(shape: number[]): tf.Tensor {
    return tf.ones(shape);
  }
}
