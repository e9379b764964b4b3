/**
 * Learning-rate schedules as plain functions of the 0-based optimizer step: `schedule(step) → lr`.
 * Pass the value to `optimizer.step(grads, schedule(step))`, or give the function to the `Trainer`.
 */
export type Schedule = (step: number) => number;

/** The same learning rate at every step. */
export function constantSchedule(lr: number): Schedule {
  if (!(lr >= 0)) throw new Error(`constantSchedule: lr must be ≥ 0, got ${lr}`);
  return () => lr;
}

/** Options of {@link warmupCosineSchedule}. */
export interface WarmupCosineOptions {
  /** Peak learning rate, reached at the end of the warmup. */
  baseLr: number;
  /** Steps of linear warmup: step `s < warmupSteps` gets `baseLr·(s+1)/warmupSteps`. Default 0. */
  warmupSteps?: number;
  /** Step at which the cosine reaches `minLr`; later steps stay at `minLr`. */
  totalSteps: number;
  /** Floor of the cosine. Default 0. */
  minLr?: number;
}

// Reference: transformers `get_cosine_schedule_with_warmup` (optimization.py), floored as timm `CosineLRScheduler`.
/**
 * Linear warmup then cosine decay to a floor:
 * `s < W`: `base·(s+1)/W`; `W ≤ s ≤ T`: `min + ½(base − min)(1 + cos(π(s − W)/(T − W)))`; `s > T`: `min`.
 */
export function warmupCosineSchedule(options: WarmupCosineOptions): Schedule {
  const { baseLr, totalSteps } = options;
  const warmup = options.warmupSteps ?? 0;
  const minLr = options.minLr ?? 0;
  if (!(baseLr >= 0) || !(minLr >= 0))
    throw new Error(`warmupCosineSchedule: baseLr and minLr must be ≥ 0, got ${baseLr}, ${minLr}`);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`warmupCosineSchedule: warmupSteps must be an integer ≥ 0, got ${warmup}`);
  if (!Number.isInteger(totalSteps) || totalSteps <= warmup) {
    throw new Error(`warmupCosineSchedule: totalSteps (${totalSteps}) must be an integer > warmupSteps (${warmup})`);
  }
  return (step) => {
    if (step < warmup) return (baseLr * (step + 1)) / warmup;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmup) / (totalSteps - warmup);
    return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}
