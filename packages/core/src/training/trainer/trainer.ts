import { join } from "node:path";
import { tf } from "../../tf.js";
import type { NamedTensors, Optimizer } from "../optimizers/optimizer.js";
import { constantSchedule, type Schedule } from "../schedule.js";
import { disposeTensors } from "../optimizers/accumulate.js";
import { Rng } from "../../random/rng.js";
import { sweepStaleTemporaries } from "../../io/atomic.js";
import type { MetricsRecord } from "../metrics-log.js";
import { StepBatches, disposeBatch } from "./batches.js";
import { EarlyStopping } from "./early-stopping.js";
import { IntervalMeter, type IntervalSums } from "./interval-meter.js";
import { NonFiniteGuard } from "./non-finite-guard.js";
import { RunLog, type RunPosition } from "./run-log.js";
import { stepGradients } from "./step-gradients.js";
import {
  TRAINER_STATE_FORMAT,
  checkpointName,
  checkpointTensors,
  disposeCheckpoint,
  latestCheckpoint,
  loadTrainerCheckpoint,
  pruneCheckpoints,
  restoreCheckpointTensors,
  saveTrainerCheckpoint,
  type TrainerState,
} from "./trainer-checkpoint.js";
import {
  checkTrainerOptions,
  trainerOptimizer,
  type StopReason,
  type TrainResult,
  type TrainerOptions,
} from "./options.js";

/**
 * The training loop shared by every BirdVLM model: steps over batches with an optimizer, a learning-rate
 * schedule, gradient clipping and accumulation; periodic evaluation with early stopping; atomic
 * checkpoints and exact resume; a non-finite guard; JSONL metrics, a progress line and PNG curves.
 * Its knobs follow Hugging Face transformers' `Trainer` / `TrainingArguments` (trainer.py, training_args.py).
 *
 * ```ts
 * const model = new MyClassifier();
 * const trainer = new Trainer({
 *   model,
 *   loss: (b, ctx) => crossEntropy(model.forward(b.images, { rng: ctx.rng }), b.labels, { labelSmoothing: 0.1 }) as tf.Scalar,
 *   data: (epoch, rng) => loader.batches({ shuffle: rng }),     // same epoch + seed → same batches
 *   optimizer: (params) => new AdamW(params, { lr: 5e-4, weightDecay: 0.05 }),
 *   schedule: warmupCosineSchedule({ baseLr: 5e-4, warmupSteps: 100, totalSteps: 3000, minLr: 1e-6 }),
 *   maxSteps: 3000, clipGradNorm: 1, gradientAccumulation: 2,
 *   evaluate: async () => ({ accuracy: await accuracyOn(valSet) }), evalEvery: 250,
 *   earlyStopping: { metric: "accuracy", mode: "max", patience: 4 },
 *   checkpointDir: "runs/vit/ckpt", checkpointEvery: 500, resume: true,
 *   metricsFile: "runs/vit/metrics.jsonl", curvesFile: "runs/vit/curves.png",
 * });
 * const result = await trainer.fit();
 * ```
 *
 * One *step* is one optimizer update over `gradientAccumulation` micro-batches (an epoch that ends early
 * gives a last step over fewer; `stepGradients` computes it). Per step the trainer reads one float from the
 * device (loss + gradient norm, to detect non-finite values; none with `finiteCheck: "log"` or `"device"`);
 * the loss itself is summed on the device by the {@link IntervalMeter} and read every `logEvery` steps.
 * A step whose loss or gradients are not finite is skipped (no update, counted by the {@link NonFiniteGuard});
 * `maxBadSteps` in a row abort the run with an error naming the steps.
 *
 * Checkpoints (`<checkpointDir>/checkpoint-<step>/`: `model.safetensors`, `optimizer.safetensors`,
 * `trainer.json`) are written to a temporary folder and renamed into place. Resuming restores parameters,
 * optimizer state, step, epoch, data position, the step RNG, the log-interval accumulators and the
 * early-stopping state, and drops the metrics records after the checkpoint's step, so a run stopped and
 * resumed reaches bit-identical parameters (and the same metrics file) as one that never stopped, provided
 * the loss draws its randomness from `ctx.rng` and the data from the epoch RNG.
 */
export class Trainer<B> {
  /** The step RNG (see {@link StepContext.rng}). */
  readonly rng: Rng;
  /** The optimizer (built from the factory, when one was given). */
  readonly optimizer: Optimizer;
  /** The trained parameters, by name. */
  readonly parameters: Array<[string, tf.Variable]>;
  private readonly options: TrainerOptions<B>;
  private readonly schedule: Schedule;
  private readonly seed: number;
  private readonly logEvery: number;
  private readonly ownsOptimizer: boolean;
  private readonly early: EarlyStopping | undefined;
  /** The running sums of the log interval in progress. */
  private readonly meter = new IntervalMeter();
  /** Skipped non-finite steps, and the abort after too many in a row. */
  private readonly guard: NonFiniteGuard;
  /** Records, progress line, curves and the run's clock. */
  private readonly log: RunLog;
  /** The data, cut into steps. */
  private readonly batches: StepBatches<B>;
  private stepsDone = 0;
  private lastLr = 0;
  private lastLoss: number | undefined;
  private lastItemsPerSec: number | undefined;
  private lastEval: Record<string, number> | undefined;
  private lastEvalStep = -1;
  private lastCheckpoint: string | undefined;
  private lastCheckpointStep = -1;

  constructor(options: TrainerOptions<B>) {
    checkTrainerOptions(options);
    const o = (this.options = options);
    this.early = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
    this.parameters = (o.parameters ?? o.model.trainableParameters()).filter(([, v]) => v.trainable);
    if (this.parameters.length === 0) throw new Error("Trainer: no trainable parameters (is the model frozen?)");
    this.ownsOptimizer = typeof o.optimizer === "function";
    this.optimizer = trainerOptimizer(o, this.parameters);
    this.schedule = o.schedule ?? constantSchedule(this.optimizer.lr);
    this.seed = o.seed ?? 0;
    this.rng = new Rng(this.seed);
    this.logEvery = o.logEvery ?? 10;
    const discard = (b: B) => disposeBatch(b, o.disposeBatch);
    this.batches = new StepBatches(o.data, this.seed, o.gradientAccumulation ?? 1, o.epochs, discard);
    this.log = new RunLog(o as TrainerOptions<unknown>);
    this.guard = new NonFiniteGuard(o.maxBadSteps ?? 10, (line) => this.log.note(line));
  }

  /** Optimizer steps done. */
  get step(): number {
    return this.stepsDone;
  }

  /** Epoch in progress (0-based). */
  get epoch(): number {
    return this.batches.epoch;
  }

  /** Steps skipped so far because their loss or gradients were not finite. */
  get skippedSteps(): number {
    return this.guard.skipped;
  }

  /** The log and evaluation records of this run (including those restored on resume). */
  records(): MetricsRecord[] {
    return this.log.records;
  }

  /**
   * Trains until `maxSteps`, `epochs`, early stopping or the abort signal, resuming first when `resume` says
   * so. Throws when `maxBadSteps` non-finite steps come in a row (after writing nothing for them).
   */
  async fit(): Promise<TrainResult> {
    const o = this.options;
    // a killed run's half-written checkpoints and moved-aside copies: healed before anything reads the folder
    if (o.checkpointDir) for (const line of await sweepStaleTemporaries(o.checkpointDir)) this.log.note(line);
    const resume = typeof o.resume === "string" ? o.resume : o.resume ? latestCheckpoint(o.checkpointDir!) : undefined;
    if (resume) await this.resumeFrom(resume);
    this.meter.ensure();
    this.meter.start = performance.now();
    this.log.start(this.stepsDone, this.meter.start);
    this.trainMode(true);
    let stop: StopReason | undefined;
    try {
      while (!stop) {
        if (o.maxSteps !== undefined && this.stepsDone >= o.maxSteps) stop = "maxSteps";
        else if (o.signal?.aborted) stop = "aborted";
        const micro = stop ? [] : await this.batches.next();
        if (micro.length === 0) {
          stop ??= "epochs";
          break;
        }
        const epoch = micro[0]!.epoch;
        const inputs = micro.map((m) => m.batch);
        const skipped = await this.trainStep(inputs, epoch);
        this.stepsDone++;
        if (this.stepsDone % this.logEvery === 0) await this.logInterval(epoch);
        else this.log.show(this.position(), "step");
        if (o.evaluate && o.evalEvery && this.stepsDone % o.evalEvery === 0 && (await this.evaluate()))
          stop = "earlyStopping";
        if (o.checkpointEvery && this.stepsDone % o.checkpointEvery === 0) await this.saveCheckpoint();
        o.onStep?.({ step: this.stepsDone, epoch, lr: this.lastLr, skipped });
      }
      if (this.meter.count > 0) await this.logInterval(this.batches.epoch);
      if (o.evaluate && (o.evalAtEnd ?? true) && this.lastEvalStep !== this.stepsDone && stop !== "earlyStopping")
        await this.evaluate();
      if (o.checkpointDir && this.lastCheckpointStep !== this.stepsDone) await this.saveCheckpoint();
      await this.log.drawCurves();
    } finally {
      await this.batches.close();
      this.log.done();
      this.trainMode(false);
    }
    const es = this.early?.state;
    return {
      step: this.stepsDone,
      epoch: this.batches.epoch,
      stopReason: stop,
      skippedSteps: this.guard.skipped,
      lastLoss: this.lastLoss,
      lastEval: this.lastEval,
      best:
        es && es.best !== null ? { metric: o.earlyStopping!.metric, value: es.best, step: es.bestStep! } : undefined,
      checkpoint: this.lastCheckpoint,
      elapsedSec: this.log.elapsed(),
    };
  }

  /** Frees the trainer's device tensors, and the optimizer's state when the trainer built it. */
  dispose(): void {
    this.meter.dispose();
    if (this.ownsOptimizer) this.optimizer.dispose();
  }

  // ---- one step ------------------------------------------------------------------------------------

  /** Computes, checks and applies one step. Returns whether it was skipped as non-finite. */
  private async trainStep(micro: B[], epoch: number): Promise<boolean> {
    const check = this.options.finiteCheck ?? "step";
    const lr = (this.lastLr = this.schedule(this.stepsDone));
    const place = { step: this.stepsDone, epoch, rng: this.rng };
    const { loss, grads, norm, items } = stepGradients(this.options, this.parameters, micro, place);
    try {
      if (check === "device") {
        // The update is taken only where loss and norm are finite; nothing is read back.
        const ok = tf.tidy(() => tf.isFinite(tf.add(loss, norm)));
        this.optimizer.step(grads, lr, { applyIf: ok });
        this.meter.addGuarded(ok, loss, norm, items);
        ok.dispose();
        return false;
      }
      if (check === "step") {
        const sum = tf.add(loss, norm);
        const value = (await sum.data())[0]!; // the one read-back per step
        sum.dispose();
        if (!Number.isFinite(value)) {
          this.guard.skipStep(this.stepsDone + 1, value, epoch);
          return true;
        }
      }
      this.guard.passed();
      this.optimizer.step(grads, lr);
      this.meter.add(loss, norm, items);
      return false;
    } finally {
      tf.dispose([loss, norm]);
      disposeTensors(grads);
    }
  }

  /**
   * Reads the interval's sums; with `finiteCheck: "device"` accounts the steps skipped on the device (they
   * leave the count), with `"log"` aborts on a non-finite sum. Returns the sums over the good steps.
   */
  private async readInterval(epoch: number): Promise<IntervalSums> {
    const sums = await this.meter.read();
    const first = this.stepsDone - this.meter.count + 1;
    if (this.options.finiteCheck === "device") {
      this.guard.skippedOnDevice(sums.bad, this.meter.count, this.stepsDone, epoch);
      this.meter.dropSkipped(sums.bad);
    }
    if (this.options.finiteCheck === "log") this.guard.checkApplied(sums.loss, sums.norm, first, this.stepsDone, epoch);
    return sums;
  }

  private trainMode(on: boolean): void {
    if (this.options.setTrainMode ?? true) this.options.model.train?.(on);
  }

  // ---- logging, evaluation ---------------------------------------------------------------------------

  private position(): RunPosition {
    const total = this.batches.totalSteps(this.options.maxSteps);
    const { stepsDone: step, lastLoss: loss, lastLr: lr, lastItemsPerSec: itemsPerSec } = this;
    const { itemName } = this.options;
    return { step, total, epoch: this.batches.epoch, loss, lr, itemsPerSec, itemName, skipped: this.guard.skipped };
  }

  private async logInterval(epoch: number): Promise<void> {
    const now = performance.now();
    const secs = (now - this.meter.start) / 1000;
    const record: MetricsRecord = { kind: "train", step: this.stepsDone, epoch, time: round(this.log.elapsed()) };
    if (this.meter.count > 0) {
      const sums = await this.readInterval(epoch);
      if (this.meter.count > 0) {
        this.lastLoss = sums.loss / this.meter.count;
        record.loss = this.lastLoss;
        record.gradNorm = sums.norm / this.meter.count;
      }
    }
    record.lr = this.lastLr;
    if (secs > 0 && this.meter.items > 0) record.itemsPerSec = round(this.meter.items / secs);
    if (this.guard.skipped) record.skipped = this.guard.skipped;
    this.lastItemsPerSec = record.itemsPerSec as number | undefined;
    this.meter.reset(now);
    this.log.record(record);
    this.log.show(this.position(), "interval");
  }

  /** Runs the evaluation callback; returns whether early stopping says stop. */
  private async evaluate(): Promise<boolean> {
    const o = this.options;
    this.lastEvalStep = this.stepsDone;
    this.trainMode(false);
    let metrics: Record<string, number>;
    try {
      const rng = new Rng((this.seed ^ 0x5bd1e995) + this.stepsDone);
      metrics = await o.evaluate!({ step: this.stepsDone, epoch: this.batches.epoch, rng });
    } finally {
      this.trainMode(true);
    }
    this.lastEval = metrics;
    const { stepsDone: step, batches } = this;
    this.log.record({ kind: "eval", step, epoch: batches.epoch, time: round(this.log.elapsed()), ...metrics });
    const shown = Object.entries(metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
    this.log.note(`eval step ${step}: ${shown.join(" | ")}`);
    const verdict = this.early?.update(metrics, step);
    if (verdict?.improved && o.checkpointDir && (o.saveBest ?? true))
      await this.writeCheckpoint(join(o.checkpointDir, "best"), false);
    if (verdict?.stop) this.log.note(`early stopping at step ${step}: ${this.early!.describe()}`);
    await this.log.drawCurves();
    return verdict?.stop ?? false;
  }

  // ---- checkpoints -------------------------------------------------------------------------------------

  /** Writes a checkpoint folder: the model, the optimizer's state when asked, and where the run stands. */
  private async writeCheckpoint(dir: string, withOptimizer: boolean): Promise<void> {
    const o = this.options;
    const model = checkpointTensors(o.model, this.parameters, o.checkpointParameters);
    const opt: NamedTensors = withOptimizer ? this.optimizer.stateDict() : {};
    try {
      const sums = await this.readInterval(this.batches.epoch);
      const { stepsDone: step, batches, seed, early } = this;
      const state: TrainerState = {
        format: TRAINER_STATE_FORMAT,
        ...{ step, epoch: batches.epoch, position: batches.position, seed, rng: this.rng.getState() },
        ...this.guard.state,
        pendingLoss: this.meter.saved(sums),
        earlyStopping: early ? { ...early.state } : undefined,
        elapsedSec: this.log.elapsed(),
        extra: o.extraState,
      };
      const extra = o.writeExtra ? (tmp: string) => o.writeExtra!(tmp, step) : undefined;
      await saveTrainerCheckpoint(dir, model, opt, state, extra);
    } finally {
      disposeTensors(model);
      disposeTensors(opt);
    }
  }

  /** Writes `checkpoint-<step>` now (also called on schedule by `fit`) and prunes old ones. Returns its folder. */
  async saveCheckpoint(): Promise<string> {
    const root = this.options.checkpointDir;
    if (!root) throw new Error("Trainer.saveCheckpoint: no checkpointDir");
    const dir = join(root, checkpointName(this.stepsDone));
    await this.writeCheckpoint(dir, true);
    this.lastCheckpoint = dir;
    this.lastCheckpointStep = this.stepsDone;
    await pruneCheckpoints(root, this.options.keepCheckpoints ?? 2);
    await this.log.drawCurves();
    return dir;
  }

  /** Restores a checkpoint folder written by this trainer (parameters, optimizer, position, RNG, logs). */
  async resumeFrom(dir: string): Promise<void> {
    const ckpt = await loadTrainerCheckpoint(dir);
    try {
      const s = ckpt.state;
      const o = this.options;
      if (s.seed !== this.seed)
        throw new Error(`${dir}: checkpoint seed ${s.seed} differs from the trainer's seed ${this.seed}`);
      const source = join(dir, "model.safetensors");
      restoreCheckpointTensors(o.model, this.parameters, o.checkpointParameters, ckpt.model, source);
      this.optimizer.loadStateDict(ckpt.optimizer);
      this.stepsDone = s.step;
      this.batches.resumeAt(s.epoch, s.position);
      this.rng.setState(s.rng);
      this.guard.state = s;
      this.meter.restore(s.pendingLoss);
      if (s.earlyStopping && this.early) this.early.state = { ...s.earlyStopping };
      this.lastCheckpoint = dir;
      this.lastCheckpointStep = s.step;
      await this.log.resumeAt(s.step, s.elapsedSec);
      this.log.note(`resumed from ${dir} at step ${s.step} (epoch ${s.epoch}, batch ${s.position})`);
    } finally {
      disposeCheckpoint(ckpt);
    }
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
