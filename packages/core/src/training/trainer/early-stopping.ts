import type { EarlyStoppingOptions } from "./options.js";

/** The saved state of {@link EarlyStopping} (in `trainer.json`). */
export interface EarlyStoppingState {
  /** Best value so far (`null` before the first evaluation). */
  best: number | null;
  /** Step of the best value. */
  bestStep: number | null;
  /** Evaluations since the best one. */
  badEvals: number;
}

/** What one {@link EarlyStopping.update} concluded. */
export interface EarlyStoppingVerdict {
  /** The value is a new best. */
  improved: boolean;
  /** Patience is exhausted: stop training. */
  stop: boolean;
}

// Reference: transformers `EarlyStoppingCallback` (trainer_callback.py).
/** Tracks an evaluation metric and says when it has stopped improving for `patience` evaluations. */
export class EarlyStopping {
  state: EarlyStoppingState = { best: null, bestStep: null, badEvals: 0 };

  constructor(readonly options: EarlyStoppingOptions) {
    if (!(Number.isInteger(options.patience) && options.patience > 0)) {
      throw new Error(`earlyStopping.patience must be a positive integer, got ${options.patience}`);
    }
    if (options.mode !== "min" && options.mode !== "max")
      throw new Error(`earlyStopping.mode must be 'min' or 'max', got '${String(options.mode)}'`);
  }

  /** Feeds the metrics of the evaluation after `step` steps; the configured metric must be among them. */
  update(metrics: Record<string, number>, step: number): EarlyStoppingVerdict {
    const { metric, mode, patience } = this.options;
    const v = metrics[metric];
    if (typeof v !== "number") {
      throw new Error(
        `Trainer: earlyStopping.metric '${metric}' is not among the evaluation metrics (${Object.keys(metrics).join(", ")})`,
      );
    }
    const delta = this.options.minDelta ?? 0;
    const best = this.state.best;
    const improved = best === null || (mode === "max" ? v > best + delta : v < best - delta);
    if (improved) {
      this.state = { best: v, bestStep: step, badEvals: 0 };
      return { improved, stop: false };
    }
    this.state.badEvals++;
    return { improved, stop: this.state.badEvals >= patience };
  }

  /** Why it says stop: the metric, its best value and step, and the patience spent. */
  describe(): string {
    const { metric, patience } = this.options;
    const { best, bestStep } = this.state;
    return `${metric} did not improve on ${best} (step ${bestStep}) for ${patience} evaluations`;
  }
}
