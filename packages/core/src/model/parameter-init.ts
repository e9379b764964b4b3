import { tf } from "../tf.js";
import { deriveSeed } from "../random/derive-seed.js";

/** How new parameters are filled: seeded draws (training from scratch) or zeros (cheap, before loading weights). */
export type InitMode = "random" | "zeros";

/**
 * How a {@link Linear} layer's weight and bias start:
 * - `trunc-normal`: weight N(0, std²) truncated at ±2 std, bias 0 (timm's `_init_weights`, std 0.02);
 * - `normal`: weight N(0, std²), bias 0 (transformers' `_init_weights` with `initializer_range`);
 * - `uniform`: weight and bias uniform in ±1/√in (PyTorch's own `nn.Linear.reset_parameters`).
 */
export type LinearInit = "trunc-normal" | "normal" | "uniform";

/** Options of {@link ParameterInit}. */
export interface ParameterInitOptions {
  /** Standard deviation of `normal` and `truncNormal` when a call gives none. Default 0.02. */
  std?: number;
  /** `zeros` makes every draw zeros (ones stay ones). Default `random`. */
  mode?: InitMode;
  /** How linear layers start. Default `trunc-normal`. */
  linear?: LinearInit;
}

/**
 * Hands out parameter initial values. Draw `n` (counted from 1 in the order of calls) is seeded with
 * `deriveSeed(seed, "init", n)`, so the same seed and the same order of calls give the same model, and no
 * seed is ever 0 (which TF.js would read as "no seed").
 */
export class ParameterInit {
  readonly seed: number;
  readonly std: number;
  readonly mode: InitMode;
  readonly linear: LinearInit;
  private counter = 0;

  /** `seed` undefined: a fresh random seed. */
  constructor(seed?: number, options: ParameterInitOptions = {}) {
    this.seed = seed ?? Math.floor(Math.random() * 2 ** 31);
    this.std = options.std ?? 0.02;
    this.mode = options.mode ?? "random";
    this.linear = options.linear ?? "trunc-normal";
  }

  /** The seed of the next draw (advances the counter). */
  nextSeed(): number {
    this.counter += 1;
    return deriveSeed(this.seed, "init", this.counter);
  }

  /** N(0, std²) truncated at ±2 std (timm's `trunc_normal_`), or zeros. */
  truncNormal(shape: number[], std = this.std): tf.Tensor {
    const seed = this.nextSeed();
    return this.mode === "zeros" ? tf.zeros(shape) : tf.truncatedNormal(shape, 0, std, "float32", seed);
  }

  /** N(0, std²) (timm draws the class token with std 1e-6), or zeros. */
  normal(shape: number[], std = this.std): tf.Tensor {
    const seed = this.nextSeed();
    return this.mode === "zeros" ? tf.zeros(shape) : tf.randomNormal(shape, 0, std, "float32", seed);
  }

  /** Uniform in `[-bound, bound)`, or zeros. */
  uniform(shape: number[], bound: number): tf.Tensor {
    const seed = this.nextSeed();
    return this.mode === "zeros" ? tf.zeros(shape) : tf.randomUniform(shape, -bound, bound, "float32", seed);
  }

  /** Zeros (biases). */
  zeros(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }

  /** Ones (norm scales). */
  ones(shape: number[]): tf.Tensor {
    return tf.ones(shape);
  }

  /** A linear layer's weight `[in, out]`, as {@link ParameterInitOptions.linear} says. */
  linearWeight(inFeatures: number, outFeatures: number): tf.Tensor {
    const shape = [inFeatures, outFeatures];
    if (this.linear === "uniform") return this.uniform(shape, 1 / Math.sqrt(inFeatures));
    return this.linear === "normal" ? this.normal(shape) : this.truncNormal(shape);
  }

  /** A linear layer's bias `[out]`: zeros, or uniform in ±1/√in for `uniform`. */
  linearBias(inFeatures: number, outFeatures: number): tf.Tensor {
    return this.linear === "uniform"
      ? this.uniform([outFeatures], 1 / Math.sqrt(inFeatures))
      : this.zeros([outFeatures]);
  }
}
