/**
 * The trainer's guard against non-finite steps: counts the steps skipped because their loss or gradients
 * were NaN or infinite, notes each skip on the progress line, and aborts the run with one message once
 * `maxBadSteps` come in a row. Where the check reads back (per step, per log interval, or the device's own
 * count of skipped updates) is the trainer's `finiteCheck`; what a bad step means is decided here.
 */

/** What to try when a run aborts on non-finite steps (the end of the guard's one abort message). */
const ADVICE = "Lower the learning rate, set clipGradNorm, or check the data (a label outside [0, classes) gives NaN).";

/** Skip counts a checkpoint saves. */
export interface GuardState {
  /** Non-finite steps skipped so far. */
  skippedSteps: number;
  /** Non-finite steps in a row just before now. */
  badInARow: number;
}

/** Counts skipped non-finite steps and aborts after `maxBadSteps` in a row. */
export class NonFiniteGuard {
  /** Non-finite steps skipped so far. */
  skipped = 0;
  /** Non-finite steps in a row just before now. */
  inARow = 0;

  /**
   * @param maxBadSteps - bad steps in a row that abort the run.
   * @param note - where a skip is reported (the progress line), if anywhere.
   */
  constructor(
    private readonly maxBadSteps: number,
    private readonly note?: (line: string) => void,
  ) {}

  /** A step whose loss and gradients were finite. */
  passed(): void {
    this.inARow = 0;
  }

  /** `finiteCheck: "step"`: step `step` read back `value`, not finite, so its update is not applied. */
  skipStep(step: number, value: number, epoch: number): void {
    this.count(1, true);
    this.report(step, step, epoch, `${value}`, `last value ${value}`);
  }

  /**
   * `finiteCheck: "device"`: of the `steps` steps up to `last` read now, `bad` were skipped on the device.
   * Only whole bad intervals count as "in a row" (the device does not say which steps within one were bad).
   */
  skippedOnDevice(bad: number, steps: number, last: number, epoch: number): void {
    if (bad <= 0) return this.passed();
    this.count(bad, bad === steps);
    this.report(last - steps + 1, last, epoch, `${bad} of ${steps}`, 'finiteCheck "device" skipped them');
  }

  /** `finiteCheck: "log"`: the sums over steps `first..last` were read back; their updates were applied. */
  checkApplied(lossSum: number, normSum: number, first: number, last: number, epoch: number): void {
    if (Number.isFinite(lossSum + normSum)) return;
    const how = `loss sum ${lossSum}, gradient norm sum ${normSum}; finiteCheck "log" applied their updates`;
    throw abortError(undefined, first, last, epoch, how);
  }

  /** What a checkpoint saves. */
  get state(): GuardState {
    return { skippedSteps: this.skipped, badInARow: this.inARow };
  }

  set state(s: GuardState) {
    this.skipped = s.skippedSteps;
    this.inARow = s.badInARow;
  }

  private count(bad: number, consecutive: boolean): void {
    this.skipped += bad;
    this.inARow = consecutive ? this.inARow + bad : 0;
  }

  /** Notes the skip of steps `first..last` and aborts when `maxBadSteps` came in a row. */
  private report(first: number, last: number, epoch: number, what: string, how: string): void {
    const span = first === last ? `step ${last}` : `steps ${first}..${last}`;
    this.note?.(
      `${span}: loss or gradient not finite (${what}); skipped (${this.inARow} in a row, ${this.skipped} in all)`,
    );
    if (this.inARow >= this.maxBadSteps) {
      throw abortError(this.inARow, last - this.inARow + 1, last, epoch, how);
    }
  }
}

/** The guard's one abort message: how many steps in a row (when known), which, and what was done with them. */
function abortError(inARow: number | undefined, first: number, last: number, epoch: number, how: string): Error {
  const steps = `steps ${first}..${last}`;
  const span = inARow === undefined ? `${steps} (` : `${inARow} steps in a row (${steps}, `;
  return new Error(
    `Trainer: the loss or gradients were not finite in ${span}epoch ${epoch}; ${how}); aborting. ${ADVICE}`,
  );
}
