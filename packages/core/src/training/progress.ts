/**
 * The training progress line: on a TTY one line rewritten in place (throttled), elsewhere (CI, a log file)
 * one plain line per call to `log`.
 */

/** What one progress update shows. */
export interface ProgressState {
  /** Optimizer steps done. */
  step: number;
  /** Steps planned, when known. */
  total?: number;
  /** Epoch (0-based). */
  epoch?: number;
  /** Mean training loss over the last log interval (the last value read). */
  loss?: number;
  /** Learning rate of the last step. */
  lr?: number;
  /** Items (examples) per second over the recent steps. */
  itemsPerSec?: number;
  /** What an item is, in the rate (`img` shows `85.2 img/s`). Default `it`. */
  itemName?: string;
  /** Estimated seconds to `total`. */
  etaSec?: number;
  /** Steps skipped as non-finite so far. */
  skipped?: number;
}

/** A writable stream as far as the progress line needs it. */
export interface ProgressStream {
  /** Writes text (no newline added). */
  write(text: string): unknown;
  /** Whether it is a terminal (then the line is redrawn in place). */
  isTTY?: boolean;
  /** Terminal width; longer lines are cut. */
  columns?: number;
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Formats a progress state as one line: `step 120/1000 (12%) | epoch 1 | loss 2.3456 | lr 3.00e-4 | 85.2 it/s | ETA 3m05s`. */
export function formatProgress(p: ProgressState): string {
  const parts: string[] = [];
  parts.push(p.total ? `step ${p.step}/${p.total} (${Math.floor((100 * p.step) / p.total)}%)` : `step ${p.step}`);
  if (p.epoch !== undefined) parts.push(`epoch ${p.epoch}`);
  if (p.loss !== undefined) parts.push(`loss ${Number.isFinite(p.loss) ? p.loss.toFixed(4) : String(p.loss)}`);
  if (p.lr !== undefined) parts.push(`lr ${p.lr.toExponential(2)}`);
  if (p.itemsPerSec !== undefined) parts.push(`${p.itemsPerSec.toFixed(1)} ${p.itemName ?? "it"}/s`);
  if (p.etaSec !== undefined) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  if (p.skipped) parts.push(`skipped ${p.skipped}`);
  return parts.join(" | ");
}

/**
 * Shows training progress. `update` redraws the line on a TTY at most every `minIntervalMs` and does nothing
 * elsewhere; `log` prints a line that stays (above the live line on a TTY); `done` ends the live line.
 */
export class ProgressLine {
  private readonly tty: boolean;
  private lastDraw = 0;
  private live = false;

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    private readonly minIntervalMs = 100,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** Whether the line is redrawn in place. */
  get isTTY(): boolean {
    return this.tty;
  }

  /** Redraws the live line (TTY only, throttled unless `force`). */
  update(state: ProgressState, force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = now;
    let line = formatProgress(state);
    const width = this.stream.columns;
    if (width && line.length > width - 1) line = line.slice(0, width - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.live = true;
  }

  /** Prints a lasting line: on a TTY it clears the live line first (the next `update` redraws it). */
  log(text: string): void {
    if (this.tty && this.live) this.stream.write("\r\x1b[2K");
    this.live = false;
    this.stream.write(`${text}\n`);
  }

  /** Prints a progress state as a lasting line (the non-TTY form of `update`). */
  logState(state: ProgressState): void {
    this.log(formatProgress(state));
  }

  /** Ends the live line with a newline. */
  done(): void {
    if (this.tty && this.live) this.stream.write("\n");
    this.live = false;
  }
}
