/**
 * Watches the first steps of a stage for a loss that falls faster than learning plausibly allows — the
 * symptom of answers leaking into the inputs (unmasked labels, the answer inside the prompt).
 */
export class LossWatch {
  private first: number | undefined;
  private steps = 0;
  private warned = false;

  /**
   * @param window steps watched (default 20).
   * @param ratio warn when the loss falls below `ratio` × the first step's loss within the window (default 0.05).
   */
  constructor(
    private readonly warn: (message: string) => void,
    private readonly window = 20,
    private readonly ratio = 0.05,
  ) {}

  /** Feeds one step's loss. */
  observe(loss: number): void {
    this.steps++;
    if (this.first === undefined) {
      this.first = loss;
      return;
    }
    if (this.warned || this.steps > this.window || !(this.first > 0)) return;
    if (loss < this.first * this.ratio) {
      this.warned = true;
      this.warn(
        `warning: the loss fell from ${this.first.toFixed(3)} to ${loss.toFixed(4)} in ${this.steps} steps, faster than learning plausibly allows: ` +
          "check that the labels mask the prompt (-100) and that answers do not appear in the question or the image tokens",
      );
    }
  }
}
