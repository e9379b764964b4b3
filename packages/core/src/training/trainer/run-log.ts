/**
 * What a training run tells the outside while it runs: its records (kept, appended to the JSONL metrics
 * file, handed to `onRecord`), the progress line with its ETA, notes, and the curves image; and the run's
 * clock (seconds trained, across resumes).
 */
import { MetricsLog, type MetricsRecord } from "../metrics-log.js";
import { ProgressLine, type ProgressState } from "../progress.js";
import { renderCurves } from "../curves.js";
import type { TrainerOptions } from "./options.js";

/** Where the run stands, for the progress line (the ETA and elapsed time are the log's own). */
export type RunPosition = Omit<ProgressState, "etaSec">;

/** Records, progress line, curves and clock of one {@link Trainer} run. */
export class RunLog {
  /** Seconds trained before this process (restored on resume). */
  elapsedBefore = 0;
  private history: MetricsRecord[] = [];
  private readonly progress: ProgressLine | undefined;
  private readonly metrics: MetricsLog | undefined;
  private runStart = 0;
  private runStartStep = 0;

  constructor(private readonly options: TrainerOptions<unknown>) {
    const p = options.progress ?? true;
    this.progress = p === false ? undefined : new ProgressLine(p === true ? process.stderr : p);
    this.metrics = options.metricsFile ? new MetricsLog(options.metricsFile) : undefined;
  }

  /** The records of this run (including those restored on resume). */
  get records(): MetricsRecord[] {
    return [...this.history];
  }

  /** Starts the clock of this process at step `step`. */
  start(step: number, now: number): void {
    this.runStart = now;
    this.runStartStep = step;
  }

  /** Seconds trained so far, across resumes. */
  elapsed(): number {
    return this.elapsedBefore + (this.runStart ? (performance.now() - this.runStart) / 1000 : 0);
  }

  /** Keeps a record, appends it to the metrics file and hands it to `onRecord`. */
  record(r: MetricsRecord): void {
    this.history.push(r);
    this.metrics?.append(r);
    this.options.onRecord?.(r);
  }

  /** On resume: drops the records after `step` (from the metrics file too) and keeps the rest. */
  async resumeAt(step: number, elapsedSec: number): Promise<void> {
    this.history = this.metrics ? await this.metrics.truncateAfter(step) : [];
    this.elapsedBefore = elapsedSec;
  }

  /** A line of its own above the progress line. */
  note(line: string): void {
    this.progress?.log(line);
  }

  /** Redraws the progress line (`interval`: after a log record, a new line where the output is not a TTY). */
  show(position: RunPosition, when: "step" | "interval"): void {
    if (!this.progress) return;
    const state = { ...position, etaSec: this.eta(position) };
    if (when === "step") this.progress.update(state, false);
    else if (this.progress.isTTY) this.progress.update(state, true);
    else this.progress.logState(state);
  }

  /** Redraws the curves image, when there is one to draw; a failure is noted, not thrown. */
  async drawCurves(): Promise<void> {
    const path = this.options.curvesFile;
    if (!path || this.history.length === 0) return;
    try {
      await renderCurves(this.history, path, this.options.curves);
    } catch (e) {
      this.note(`curves not drawn (${(e as Error).message})`);
    }
  }

  /** Ends the progress line. */
  done(): void {
    this.progress?.done();
  }

  private eta(p: RunPosition): number | undefined {
    const ran = p.step - this.runStartStep;
    if (p.total === undefined || ran <= 0) return undefined;
    const secPerStep = (performance.now() - this.runStart) / 1000 / ran;
    return Math.max(0, p.total - p.step) * secPerStep;
  }
}
