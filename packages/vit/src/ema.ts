/**
 * An exponential moving average of a model's weights (timm's `ModelEmaV3` with warmup): after each optimizer
 * step `ema ← d·ema + (1−d)·w` with `d = min(decay, (1+n)/(10+n))` at update `n`, so the average follows the
 * weights closely early on. Evaluation swaps the average into the model and back.
 */
import { tf } from "@birdvlm/core";

/** A moving average of the given variables. */
export class WeightEma {
  private readonly shadow: tf.Variable[];
  private updates = 0;

  /** Starts the average at the variables' current values. `decay` in `[0, 1)`, e.g. 0.999. */
  constructor(
    private readonly variables: readonly tf.Variable[],
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`WeightEma: decay must be in [0, 1), got ${decay}`);
    this.shadow = variables.map((v) => tf.variable(v, false));
  }

  /** The decay the next update uses. */
  get currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** Moves the average towards the variables' current values (call after each optimizer step). */
  update(): void {
    const d = this.currentDecay;
    tf.tidy(() => {
      this.shadow.forEach((s, i) => s.assign(tf.add(tf.mul(s, d), tf.mul(this.variables[i]!, 1 - d))));
    });
    this.updates++;
  }

  /** Runs `fn` with the averaged weights in the model's variables, then puts the trained weights back. */
  async withAverage<T>(fn: () => Promise<T> | T): Promise<T> {
    const saved = this.variables.map((v) => tf.clone(v));
    this.variables.forEach((v, i) => v.assign(this.shadow[i]!));
    try {
      return await fn();
    } finally {
      this.variables.forEach((v, i) => v.assign(saved[i]!));
      tf.dispose(saved);
    }
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
