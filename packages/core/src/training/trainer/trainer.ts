import { join } from "node:path";
import { tf } from "../../tf.js";
import type { NamedTensors, Optimizer } from "../optimizers/optimizer.js";
import { constantSchedule, type Schedule } from "../schedule.js";
import { clipByGlobalNorm, globalNorm } from "../optimizers/clip.js";
import { GradientAccumulator, disposeTensors } from "../optimizers/accumulate.js";
import { Rng } from "../../random/rng.js";
import { MetricsLog, type MetricsRecord } from "../metrics-log.js";
import { ProgressLine, type ProgressState } from "../progress.js";
import { renderCurves } from "../curves.js";
import { EpochBatches } from "./batches.js";
import { EarlyStopping } from "./early-stopping.js";
import {
  TRAINER_STATE_FORMAT,
  checkpointName,
  disposeCheckpoint,
  latestCheckpoint,
  loadTrainerCheckpoint,
  pruneCheckpoints,
  saveTrainerCheckpoint,
  type TrainerState,
} from "./trainer-checkpoint.js";
import type { StopReason, TrainResult, TrainerOptions } from "./options.js";

/**
 * The training loop shared by every BirdVLM model: steps over batches with an optimizer, a learning-rate
 * schedule, gradient clipping and accumulation; periodic evaluation with early stopping; atomic
 * checkpoints and exact resume; a non-finite guard; JSONL metrics, a progress line and PNG curves.
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
 * gives a last step over fewer). Per step the trainer reads one float from the device (loss + gradient norm,
 * to detect non-finite values; none with `finiteCheck: "log"` or `"device"`); the loss itself is averaged on the device and read every
 * `logEvery` steps.
 * A step whose loss or gradients are not finite is skipped (no update, counted); `maxBadSteps` in a row
 * abort the run with an error naming the steps.
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
  private readonly accumulation: number;
  private readonly logEvery: number;
  private readonly nameOfVariable = new Map<string, string>();
  private readonly ownsOptimizer: boolean;
  private readonly progress: ProgressLine | undefined;
  private readonly metrics: MetricsLog | undefined;
  private history: MetricsRecord[] = [];

  private stepsDone = 0;
  private batches: EpochBatches<B>;
  private skipped = 0;
  private badInARow = 0;
  private firstBadStep = 0;
  private lossSum: tf.Scalar | undefined;
  private normSum: tf.Scalar | undefined;
  /** With `finiteCheck: "device"`: the steps skipped on the device since the last read. */
  private badSum: tf.Scalar | undefined;
  private pendingCount = 0;
  private pendingItems = 0;
  private intervalStart = 0;
  private lastLr = 0;
  private lastLoss: number | undefined;
  private lastItemsPerSec: number | undefined;
  private lastEval: Record<string, number> | undefined;
  private readonly early: EarlyStopping | undefined;
  private elapsedBefore = 0;
  private runStart = 0;
  private runStartStep = 0;
  private stepsPerEpoch: number | undefined;
  private stepsThisEpoch = 0;
  private lastCheckpoint: string | undefined;
  private lastCheckpointStep = -1;
  private lastEvalStep = -1;

  constructor(options: TrainerOptions<B>) {
    this.options = options;
    const o = options;
    if (o.maxSteps === undefined && o.epochs === undefined) throw new Error("Trainer: set maxSteps and/or epochs");
    for (const [k, v] of Object.entries({
      maxSteps: o.maxSteps,
      epochs: o.epochs,
      gradientAccumulation: o.gradientAccumulation,
      logEvery: o.logEvery,
      evalEvery: o.evalEvery,
      checkpointEvery: o.checkpointEvery,
      keepCheckpoints: o.keepCheckpoints,
      maxBadSteps: o.maxBadSteps,
    })) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0))
        throw new Error(`Trainer: ${k} must be a positive integer, got ${v}`);
    }
    if (o.earlyStopping && !o.evaluate) throw new Error("Trainer: earlyStopping needs an evaluate callback");
    this.early = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
    if (o.checkpointEvery !== undefined && !o.checkpointDir)
      throw new Error("Trainer: checkpointEvery needs checkpointDir");
    if (o.resume === true && !o.checkpointDir) throw new Error("Trainer: resume: true needs checkpointDir");
    this.parameters = (o.parameters ?? o.model.trainableParameters()).filter(([, v]) => v.trainable);
    if (this.parameters.length === 0) throw new Error("Trainer: no trainable parameters (is the model frozen?)");
    for (const [n, v] of this.parameters) this.nameOfVariable.set(v.name, n);
    this.ownsOptimizer = typeof o.optimizer === "function";
    this.optimizer = typeof o.optimizer === "function" ? o.optimizer(this.parameters) : o.optimizer;
    const known = new Set(this.optimizer.parameterNames());
    const missing = this.parameters.map(([n]) => n).filter((n) => !known.has(n));
    if (missing.length) throw new Error(`Trainer: the optimizer does not update ${missing.join(", ")}`);
    this.schedule = o.schedule ?? constantSchedule(this.optimizer.lr);
    this.seed = o.seed ?? 0;
    this.rng = new Rng(this.seed);
    this.accumulation = o.gradientAccumulation ?? 1;
    this.logEvery = o.logEvery ?? 10;
    this.batches = new EpochBatches(o.data, this.seed, 0, 0, (b) => this.disposeBatch(b));
    const p = o.progress ?? true;
    this.progress = p === false ? undefined : new ProgressLine(p === true ? process.stderr : p);
    this.metrics = o.metricsFile ? new MetricsLog(o.metricsFile) : undefined;
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
    return this.skipped;
  }

  /** The log and evaluation records of this run (including those restored on resume). */
  records(): MetricsRecord[] {
    return [...this.history];
  }

  /**
   * Trains until `maxSteps`, `epochs`, early stopping or the abort signal, resuming first when `resume` says
   * so. Throws when `maxBadSteps` non-finite steps come in a row (after writing nothing for them).
   */
  async fit(): Promise<TrainResult> {
    const o = this.options;
    await this.maybeResume();
    this.ensureAccumulators();
    this.runStart = performance.now();
    this.runStartStep = this.stepsDone;
    this.intervalStart = performance.now();
    this.trainMode(true);
    let stop: StopReason | undefined;
    try {
      for (;;) {
        if (o.maxSteps !== undefined && this.stepsDone >= o.maxSteps) {
          stop = "maxSteps";
          break;
        }
        if (o.signal?.aborted) {
          stop = "aborted";
          break;
        }
        const micro = await this.nextMicroBatches();
        if (micro.length === 0) {
          stop = "epochs";
          break;
        }
        const epochOfStep = micro[0]!.epoch;
        const skippedNow = await this.trainStep(
          micro.map((m) => m.batch),
          epochOfStep,
        );
        this.stepsDone++;
        this.stepsThisEpoch++;
        if (this.stepsDone % this.logEvery === 0) await this.logInterval(epochOfStep);
        else this.showProgress(false);
        if (o.evaluate && o.evalEvery && this.stepsDone % o.evalEvery === 0) {
          if (await this.evaluate()) stop = "earlyStopping";
        }
        if (o.checkpointEvery && this.stepsDone % o.checkpointEvery === 0) await this.saveCheckpoint();
        o.onStep?.({ step: this.stepsDone, epoch: epochOfStep, lr: this.lastLr, skipped: skippedNow });
        if (stop) break;
      }
      if (this.pendingCount > 0) await this.logInterval(this.batches.epoch);
      if (o.evaluate && (o.evalAtEnd ?? true) && this.lastEvalStep !== this.stepsDone && stop !== "earlyStopping") {
        await this.evaluate();
      }
      if (o.checkpointDir && this.lastCheckpointStep !== this.stepsDone) await this.saveCheckpoint();
      await this.drawCurves();
    } finally {
      await this.batches.close();
      this.progress?.done();
      this.trainMode(false);
    }
    const es = this.early?.state;
    return {
      step: this.stepsDone,
      epoch: this.batches.epoch,
      stopReason: stop!,
      skippedSteps: this.skipped,
      lastLoss: this.lastLoss,
      lastEval: this.lastEval,
      best:
        es && es.best !== null ? { metric: o.earlyStopping!.metric, value: es.best, step: es.bestStep! } : undefined,
      checkpoint: this.lastCheckpoint,
      elapsedSec: this.elapsed(),
    };
  }

  /** Frees the trainer's device tensors, and the optimizer's state when the trainer built it. */
  dispose(): void {
    tf.dispose([this.lossSum, this.normSum, this.badSum]);
    this.lossSum = this.normSum = this.badSum = undefined;
    if (this.ownsOptimizer) this.optimizer.dispose();
  }

  // ---- one step ------------------------------------------------------------------------------------

  private async nextMicroBatches(): Promise<Array<{ batch: B; epoch: number }>> {
    const out: Array<{ batch: B; epoch: number }> = [];
    while (out.length < this.accumulation) {
      if (this.options.epochs !== undefined && this.batches.epoch >= this.options.epochs) break;
      const epoch = this.batches.epoch;
      const batch = await this.batches.next();
      if (batch === undefined) {
        this.stepsPerEpoch ??= this.stepsThisEpoch + (out.length > 0 ? 1 : 0);
        this.stepsThisEpoch = out.length > 0 ? -1 : 0;
        if (out.length > 0) break; // the epoch ended inside an accumulation: step over what we have
        continue;
      }
      out.push({ batch, epoch });
    }
    return out;
  }

  /** Computes, checks and applies one step. Returns whether it was skipped as non-finite. */
  private async trainStep(micro: B[], epoch: number): Promise<boolean> {
    const o = this.options;
    const vars = this.parameters.map(([, v]) => v);
    const lr = this.schedule(this.stepsDone);
    this.lastLr = lr;
    const acc = micro.length > 1 ? new GradientAccumulator() : undefined;
    let grads: NamedTensors = {};
    let lossTotal: tf.Scalar | undefined;
    let items = 0;
    try {
      for (let i = 0; i < micro.length; i++) {
        const batch = micro[i]!;
        items += o.itemsInBatch ? o.itemsInBatch(batch) : inferItems(batch);
        const ctx = { step: this.stepsDone, epoch, microStep: i, rng: this.rng };
        const { value, grads: g } = tf.variableGrads(() => {
          const l = o.loss(batch, ctx);
          if (!(l instanceof tf.Tensor) || l.rank !== 0)
            throw new Error(
              `Trainer: loss(batch) must return a scalar tensor, got ${l instanceof tf.Tensor ? `shape [${l.shape}]` : typeof l}`,
            );
          return l;
        }, vars);
        this.disposeBatch(batch);
        const named = this.byName(g);
        if (acc) acc.add(named, { dispose: true });
        else grads = named;
        if (lossTotal) {
          const next = tf.add(lossTotal, value) as tf.Scalar;
          lossTotal.dispose();
          value.dispose();
          lossTotal = next;
        } else lossTotal = value;
      }
      if (acc) grads = acc.mean();
      const meanLoss = micro.length > 1 ? (tf.div(lossTotal!, micro.length) as tf.Scalar) : lossTotal!;
      if (meanLoss !== lossTotal) lossTotal!.dispose();
      lossTotal = meanLoss;
      let norm: tf.Scalar;
      if (o.clipGradNorm !== undefined) {
        const clipped = clipByGlobalNorm(grads, o.clipGradNorm);
        disposeTensors(grads);
        grads = clipped.grads;
        norm = clipped.norm;
      } else norm = globalNorm(grads);
      if (o.finiteCheck === "device") {
        this.deviceGuardedStep(grads, lr, lossTotal, norm);
        this.pendingItems += items;
        return false;
      }
      if (o.finiteCheck !== "log") {
        const check = tf.add(lossTotal, norm);
        const value = (await check.data())[0]!; // the one read-back per step
        check.dispose();
        if (!Number.isFinite(value)) {
          norm.dispose();
          return this.skipStep(value, epoch);
        }
      }
      this.badInARow = 0;
      this.optimizer.step(grads, lr);
      const ls = tf.add(this.lossSum!, lossTotal) as tf.Scalar;
      const ns = tf.add(this.normSum!, norm) as tf.Scalar;
      this.lossSum!.dispose();
      this.normSum!.dispose();
      norm.dispose();
      this.lossSum = ls;
      this.normSum = ns;
      this.pendingCount++;
      this.pendingItems += items;
      return false;
    } finally {
      disposeTensors(grads);
      lossTotal?.dispose();
      acc?.reset();
    }
  }

  /** `finiteCheck: "device"`: the update is taken only where loss and norm are finite; nothing is read back. */
  private deviceGuardedStep(grads: NamedTensors, lr: number, loss: tf.Scalar, norm: tf.Scalar): void {
    const ok = tf.tidy(() => tf.isFinite(tf.add(loss, norm)));
    this.optimizer.step(grads, lr, { applyIf: ok });
    const [ls, ns, bs] = tf.tidy(() => {
      const zero = tf.scalar(0);
      return [
        tf.add(this.lossSum!, tf.where(ok, loss, zero)) as tf.Scalar,
        tf.add(this.normSum!, tf.where(ok, norm, zero)) as tf.Scalar,
        tf.add(this.badSum!, tf.cast(tf.logicalNot(ok), "float32")) as tf.Scalar,
      ];
    });
    tf.dispose([ok, norm, this.lossSum!, this.normSum!, this.badSum]);
    this.lossSum = ls;
    this.normSum = ns;
    this.badSum = bs;
    this.pendingCount++;
  }

  /**
   * `finiteCheck: "device"`: takes the count of steps skipped on the device since the last read (read with the
   * loss), leaves the pending sums over the good steps only, and applies `maxBadSteps` to whole bad intervals.
   */
  private accountDeviceSkips(bad: number, epoch: number): void {
    this.badSum?.dispose();
    this.badSum = tf.scalar(0);
    if (bad <= 0) {
      this.badInARow = 0;
      return;
    }
    const first = this.stepsDone - this.pendingCount + 1;
    this.skipped += bad;
    this.badInARow = bad === this.pendingCount ? this.badInARow + bad : 0;
    this.pendingCount -= bad;
    this.progress?.log(
      `steps ${first}..${this.stepsDone}: ${bad} had a non-finite loss or gradient and were skipped on the device (${this.skipped} in all)`,
    );
    const max = this.options.maxBadSteps ?? 10;
    if (this.badInARow >= max) {
      throw new Error(
        `Trainer: the loss or gradients were not finite in ${this.badInARow} steps in a row (up to step ${this.stepsDone}, ` +
          `epoch ${epoch}; finiteCheck "device" skipped them); aborting. ` +
          "Lower the learning rate, set clipGradNorm, or check the data (a label outside [0, classes) gives NaN).",
      );
    }
  }

  private skipStep(value: number, epoch: number): boolean {
    this.skipped++;
    if (this.badInARow === 0) this.firstBadStep = this.stepsDone + 1;
    this.badInARow++;
    const max = this.options.maxBadSteps ?? 10;
    const step = this.stepsDone + 1;
    this.progress?.log(
      `step ${step}: loss or gradient not finite (${value}); step skipped (${this.badInARow} in a row, ${this.skipped} in all)`,
    );
    if (this.badInARow >= max) {
      throw new Error(
        `Trainer: the loss or gradients were not finite in ${this.badInARow} steps in a row ` +
          `(steps ${this.firstBadStep}..${step}, epoch ${epoch}; last value ${value}); aborting. ` +
          "Lower the learning rate, set clipGradNorm, or check the data (a label outside [0, classes) gives NaN).",
      );
    }
    return true;
  }

  private byName(grads: Record<string, tf.Tensor | null>): NamedTensors {
    const out: NamedTensors = {};
    for (const [id, g] of Object.entries(grads)) {
      if (!g) continue;
      const name = this.nameOfVariable.get(id);
      if (!name) {
        g.dispose();
        continue;
      }
      out[name] = g;
    }
    return out;
  }

  private disposeBatch(batch: B): void {
    const d = this.options.disposeBatch;
    if (!d) return;
    if (typeof d === "function") {
      d(batch);
      return;
    }
    const visit = (x: unknown) => {
      if (x instanceof tf.Tensor) x.dispose();
    };
    if (batch instanceof tf.Tensor) batch.dispose();
    else if (Array.isArray(batch)) batch.forEach(visit);
    else if (batch && typeof batch === "object") Object.values(batch).forEach(visit);
  }

  private ensureAccumulators(): void {
    this.lossSum ??= tf.scalar(0);
    this.normSum ??= tf.scalar(0);
    this.badSum ??= tf.scalar(0);
  }

  private trainMode(on: boolean): void {
    if (this.options.setTrainMode ?? true) this.options.model.train?.(on);
  }

  // ---- logging, evaluation ---------------------------------------------------------------------------

  private elapsed(): number {
    return this.elapsedBefore + (this.runStart ? (performance.now() - this.runStart) / 1000 : 0);
  }

  private totalSteps(): number | undefined {
    const o = this.options;
    const byEpochs = o.epochs !== undefined && this.stepsPerEpoch ? o.epochs * this.stepsPerEpoch : undefined;
    if (o.maxSteps !== undefined && byEpochs !== undefined) return Math.min(o.maxSteps, byEpochs);
    return o.maxSteps ?? byEpochs;
  }

  private progressState(itemsPerSec?: number): ProgressState {
    const total = this.totalSteps();
    const ran = this.stepsDone - this.runStartStep;
    const secPerStep = ran > 0 ? (performance.now() - this.runStart) / 1000 / ran : undefined;
    return {
      step: this.stepsDone,
      total,
      epoch: this.batches.epoch,
      loss: this.lastLoss,
      lr: this.lastLr,
      itemsPerSec,
      etaSec:
        total !== undefined && secPerStep !== undefined ? Math.max(0, total - this.stepsDone) * secPerStep : undefined,
      skipped: this.skipped,
    };
  }

  private showProgress(force: boolean): void {
    this.progress?.update(this.progressState(this.lastItemsPerSec), force);
  }

  private async logInterval(epoch: number): Promise<void> {
    const now = performance.now();
    const secs = (now - this.intervalStart) / 1000;
    const record: MetricsRecord = { kind: "train", step: this.stepsDone, epoch, time: round(this.elapsed()) };
    if (this.pendingCount > 0) {
      const both = tf.stack([this.lossSum!, this.normSum!, this.badSum!]);
      const [ls, ns, bad] = Array.from(await both.data());
      both.dispose();
      if (this.options.finiteCheck === "device") this.accountDeviceSkips(bad!, epoch);
      if (this.options.finiteCheck === "log" && !Number.isFinite(ls! + ns!)) {
        throw new Error(
          `Trainer: the loss or gradients were not finite in steps ${this.stepsDone - this.pendingCount + 1}..${this.stepsDone} ` +
            `(epoch ${epoch}; loss sum ${ls}, gradient norm sum ${ns}; finiteCheck "log" applied their updates); aborting.`,
        );
      }
      if (this.pendingCount > 0) {
        this.lastLoss = ls! / this.pendingCount;
        record.loss = this.lastLoss;
        record.gradNorm = ns! / this.pendingCount;
      }
    }
    record.lr = this.lastLr;
    if (secs > 0 && this.pendingItems > 0) record.itemsPerSec = round(this.pendingItems / secs);
    if (this.skipped) record.skipped = this.skipped;
    this.lastItemsPerSec = record.itemsPerSec as number | undefined;
    this.lossSum!.dispose();
    this.normSum!.dispose();
    this.lossSum = this.normSum = undefined;
    this.ensureAccumulators();
    this.pendingCount = 0;
    this.pendingItems = 0;
    this.intervalStart = now;
    this.record(record);
    if (this.progress?.isTTY) this.showProgress(true);
    else this.progress?.logState(this.progressState(this.lastItemsPerSec));
  }

  private record(r: MetricsRecord): void {
    this.history.push(r);
    this.metrics?.append(r);
    this.options.onRecord?.(r);
  }

  /** Runs the evaluation callback; returns whether early stopping says stop. */
  private async evaluate(): Promise<boolean> {
    const o = this.options;
    this.lastEvalStep = this.stepsDone;
    this.trainMode(false);
    let metrics: Record<string, number>;
    try {
      metrics = await o.evaluate!({
        step: this.stepsDone,
        epoch: this.batches.epoch,
        rng: new Rng((this.seed ^ 0x5bd1e995) + this.stepsDone),
      });
    } finally {
      this.trainMode(true);
    }
    this.lastEval = metrics;
    this.record({
      kind: "eval",
      step: this.stepsDone,
      epoch: this.batches.epoch,
      time: round(this.elapsed()),
      ...metrics,
    });
    this.progress?.log(
      `eval step ${this.stepsDone}: ${Object.entries(metrics)
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
        .join(" | ")}`,
    );
    let stop = false;
    if (this.early) {
      const verdict = this.early.update(metrics, this.stepsDone);
      if (verdict.improved && o.checkpointDir && (o.saveBest ?? true))
        await this.writeCheckpoint(join(o.checkpointDir, "best"), false);
      stop = verdict.stop;
      const { best, bestStep } = this.early.state;
      const es = this.early.options;
      if (stop)
        this.progress?.log(
          `early stopping at step ${this.stepsDone}: ${es.metric} did not improve on ${best} (step ${bestStep}) for ${es.patience} evaluations`,
        );
    }
    await this.drawCurves();
    return stop;
  }

  private async drawCurves(): Promise<void> {
    const path = this.options.curvesFile;
    if (!path || this.history.length === 0) return;
    try {
      await renderCurves(this.history, path, this.options.curves);
    } catch (e) {
      this.progress?.log(`curves not drawn (${(e as Error).message})`);
    }
  }

  // ---- checkpoints -------------------------------------------------------------------------------------

  private modelTensors(): NamedTensors {
    const m = this.options.model;
    if (this.options.checkpointParameters === "trained")
      return Object.fromEntries(this.parameters.map(([n, v]) => [n, v.clone()]));
    if (m.stateDict) return m.stateDict();
    return Object.fromEntries(m.namedParameters().map(([n, v]) => [n, v.clone()]));
  }

  private restoreModel(tensors: NamedTensors, source: string): void {
    const m = this.options.model;
    if (this.options.checkpointParameters !== "trained" && m.loadStateDict) {
      m.loadStateDict(tensors, { strict: true, source });
      return;
    }
    const own = new Map(this.options.checkpointParameters === "trained" ? this.parameters : m.namedParameters());
    const problems: string[] = [];
    for (const [n, v] of own) {
      const t = tensors[n];
      if (!t) problems.push(`missing '${n}'`);
      else if (t.shape.join() !== v.shape.join()) problems.push(`'${n}' has shape [${t.shape}], expected [${v.shape}]`);
    }
    for (const n of Object.keys(tensors)) if (!own.has(n)) problems.push(`unexpected '${n}'`);
    if (problems.length) throw new Error(`${source}: ${problems.join("; ")}`);
    for (const [n, v] of own) v.assign(tensors[n]!);
  }

  private async state(): Promise<TrainerState> {
    const both = tf.stack([this.lossSum!, this.normSum!, this.badSum!]);
    const [sum, normSum, bad] = Array.from(await both.data());
    both.dispose();
    if (this.options.finiteCheck === "device") this.accountDeviceSkips(bad!, this.batches.epoch);
    return {
      format: TRAINER_STATE_FORMAT,
      step: this.stepsDone,
      epoch: this.batches.epoch,
      position: this.batches.position,
      seed: this.seed,
      rng: this.rng.getState(),
      skippedSteps: this.skipped,
      badInARow: this.badInARow,
      pendingLoss: { sum: sum!, normSum: normSum!, count: this.pendingCount, items: this.pendingItems },
      earlyStopping: this.early ? { ...this.early.state } : undefined,
      elapsedSec: this.elapsed(),
      extra: this.options.extraState,
    };
  }

  private async writeCheckpoint(dir: string, withOptimizer: boolean): Promise<void> {
    const model = this.modelTensors();
    const opt = withOptimizer ? this.optimizer.stateDict() : {};
    try {
      const extra = this.options.writeExtra;
      await saveTrainerCheckpoint(
        dir,
        model,
        opt,
        await this.state(),
        extra ? (tmp) => extra(tmp, this.stepsDone) : undefined,
      );
    } finally {
      disposeTensors(model);
      disposeTensors(opt);
    }
  }

  /** Writes `checkpoint-<step>` now (also called on schedule by `fit`) and prunes old ones. Returns its folder. */
  async saveCheckpoint(): Promise<string> {
    const root = this.options.checkpointDir;
    if (!root) throw new Error("Trainer.saveCheckpoint: no checkpointDir");
    this.ensureAccumulators();
    const dir = join(root, checkpointName(this.stepsDone));
    await this.writeCheckpoint(dir, true);
    this.lastCheckpoint = dir;
    this.lastCheckpointStep = this.stepsDone;
    await pruneCheckpoints(root, this.options.keepCheckpoints ?? 2);
    await this.drawCurves();
    return dir;
  }

  private async maybeResume(): Promise<void> {
    const r = this.options.resume;
    if (!r) return;
    const dir = typeof r === "string" ? r : latestCheckpoint(this.options.checkpointDir!);
    if (!dir) return;
    await this.resumeFrom(dir);
  }

  /** Restores a checkpoint folder written by this trainer (parameters, optimizer, position, RNG, logs). */
  async resumeFrom(dir: string): Promise<void> {
    const ckpt = await loadTrainerCheckpoint(dir);
    try {
      const s = ckpt.state;
      if (s.seed !== this.seed)
        throw new Error(`${dir}: checkpoint seed ${s.seed} differs from the trainer's seed ${this.seed}`);
      this.restoreModel(ckpt.model, join(dir, "model.safetensors"));
      this.optimizer.loadStateDict(ckpt.optimizer);
      this.stepsDone = s.step;
      this.batches = new EpochBatches(this.options.data, this.seed, s.epoch, s.position, (b) => this.disposeBatch(b));
      this.stepsThisEpoch = Math.ceil(s.position / this.accumulation);
      this.rng.setState(s.rng);
      this.skipped = s.skippedSteps;
      this.badInARow = s.badInARow;
      this.lossSum?.dispose();
      this.normSum?.dispose();
      this.lossSum = tf.scalar(s.pendingLoss.sum);
      this.normSum = tf.scalar(s.pendingLoss.normSum);
      this.badSum?.dispose();
      this.badSum = tf.scalar(0); // the saved sums are over good steps only
      this.pendingCount = s.pendingLoss.count;
      this.pendingItems = s.pendingLoss.items;
      if (s.earlyStopping && this.early) this.early.state = { ...s.earlyStopping };
      this.elapsedBefore = s.elapsedSec;
      this.lastCheckpoint = dir;
      this.lastCheckpointStep = s.step;
      this.history = this.metrics ? await this.metrics.truncateAfter(s.step) : [];
      this.progress?.log(`resumed from ${dir} at step ${s.step} (epoch ${s.epoch}, batch ${s.position})`);
    } finally {
      disposeCheckpoint(ckpt);
    }
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Items in a batch: the first axis of the batch tensor, or of the first tensor among its values; else 1. */
function inferItems(batch: unknown): number {
  if (batch instanceof tf.Tensor) return batch.shape[0] ?? 1;
  const values = Array.isArray(batch) ? batch : batch && typeof batch === "object" ? Object.values(batch) : [];
  const t = values.find((v) => v instanceof tf.Tensor) as tf.Tensor | undefined;
  return t?.shape[0] ?? 1;
}
