import { tf } from "../../tf.js";
import type { NamedTensors } from "./optimizer.js";

// Reference: transformers `Trainer` with `gradient_accumulation_steps` (trainer.py), mean over micro-batches.
/**
 * Gradient accumulation over micro-batches: `add` each micro-batch's gradients, then `mean()` gives their
 * average (what one step on the concatenated batch would give when each micro-batch loss is a mean over
 * equally sized micro-batches). Sums stay on the device; nothing is read back.
 *
 * ```ts
 * const acc = new GradientAccumulator();
 * for (const mb of microBatches) { const { grads } = tf.variableGrads(() => loss(mb)); acc.add(grads, { dispose: true }); }
 * const avg = acc.mean(); optimizer.step(avg); disposeTensors(avg);
 * ```
 */
export class GradientAccumulator {
  private sums: NamedTensors = {};
  private n = 0;

  /** Number of micro-batches added since the last `mean()` or `reset()`. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds one micro-batch's gradients (same names and shapes each time; a name missing in some micro-batches
   * is summed over those that have it and still divided by the full count, as PyTorch's `.grad` accumulation).
   * With `{ dispose: true }` the input tensors are freed.
   */
  add(grads: NamedTensors, options: { dispose?: boolean } = {}): void {
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.sums[name];
      if (prev && !sameShape(prev.shape, g.shape)) {
        throw new Error(`GradientAccumulator.add: '${name}' has shape [${g.shape}], earlier [${prev.shape}]`);
      }
      this.sums[name] = tf.keep(prev ? tf.add(prev, g) : g.clone());
      prev?.dispose();
      if (options.dispose) g.dispose();
    }
    this.n++;
  }

  /** The sums divided by `count`, as new tensors the caller disposes; then resets. Throws when empty. */
  mean(): NamedTensors {
    if (this.n === 0) throw new Error("GradientAccumulator.mean: nothing was added");
    const out: NamedTensors = {};
    const n = this.n;
    for (const [name, s] of Object.entries(this.sums)) out[name] = tf.tidy(() => tf.div(s, n));
    this.reset();
    return out;
  }

  /** Frees the sums and sets `count` to 0. */
  reset(): void {
    disposeTensors(this.sums);
    this.sums = {};
    this.n = 0;
  }
}

/** Disposes every tensor of a name → tensor record. */
export function disposeTensors(tensors: NamedTensors): void {
  for (const t of Object.values(tensors)) t.dispose();
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
