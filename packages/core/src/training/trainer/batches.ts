/**
 * The trainer's view of the data: epochs of batches from a factory, with the position (epoch, batches
 * consumed) that a checkpoint saves and a resume restores.
 */
import { tf } from "../../tf.js";
import { Rng } from "../../random/rng.js";

/** The data RNG of an epoch: depends on the seed and the epoch only. */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng((Math.imul(seed ^ 0x6a09e667, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
}

type AnyIterator<B> = Iterator<B> | AsyncIterator<B>;

function open<B>(it: AsyncIterable<B> | Iterable<B>): AnyIterator<B> {
  const a = (it as AsyncIterable<B>)[Symbol.asyncIterator];
  if (typeof a === "function") return a.call(it);
  const s = (it as Iterable<B>)[Symbol.iterator];
  if (typeof s === "function") return s.call(it);
  throw new Error("Trainer: data(epoch, rng) must return an iterable or async iterable of batches");
}

/** Reads batches epoch after epoch, tracking `(epoch, position)`. */
export class EpochBatches<B> {
  private iterator: AnyIterator<B> | undefined;

  constructor(
    private readonly factory: (epoch: number, rng: Rng) => AsyncIterable<B> | Iterable<B>,
    private readonly seed: number,
    /** Epoch in progress. */
    public epoch: number,
    /** Batches of `epoch` consumed. */
    public position: number,
    private readonly discard: (batch: B) => void,
  ) {}

  /**
   * The next batch of the current epoch, or `undefined` when the epoch is exhausted (then `epoch` is advanced
   * and `position` reset). An epoch that yields nothing is an error.
   */
  async next(): Promise<B | undefined> {
    if (!this.iterator) {
      this.iterator = open(this.factory(this.epoch, epochRng(this.seed, this.epoch)));
      for (let i = 0; i < this.position; i++) {
        const r = await this.iterator.next();
        if (r.done)
          throw new Error(
            `Trainer: resuming epoch ${this.epoch} at batch ${this.position}, but data(${this.epoch}) yields only ${i} batches (was the data changed?)`,
          );
        this.discard(r.value);
      }
    }
    const r = await this.iterator.next();
    if (!r.done) {
      this.position++;
      return r.value;
    }
    if (this.position === 0) throw new Error(`Trainer: data(${this.epoch}) yielded no batches`);
    this.iterator = undefined;
    this.epoch++;
    this.position = 0;
    return undefined;
  }

  /** Closes the open iterator (runs a generator's `finally`). */
  async close(): Promise<void> {
    const it = this.iterator;
    this.iterator = undefined;
    await it?.return?.();
  }
}

/**
 * Frees a batch after its step as `how` says (`TrainerOptions.disposeBatch`): `true` disposes every tensor
 * found in it (the batch itself, or the values of an array or object batch), a function does it its way.
 */
export function disposeBatch<B>(batch: B, how: boolean | ((batch: B) => void) | undefined): void {
  if (!how) return;
  if (typeof how === "function") {
    how(batch);
    return;
  }
  const visit = (x: unknown) => {
    if (x instanceof tf.Tensor) x.dispose();
  };
  if (batch instanceof tf.Tensor) batch.dispose();
  else if (Array.isArray(batch)) batch.forEach(visit);
  else if (batch && typeof batch === "object") Object.values(batch).forEach(visit);
}

/** Items in a batch: the first axis of the batch tensor, or of the first tensor among its values; else 1. */
export function itemsIn(batch: unknown): number {
  if (batch instanceof tf.Tensor) return batch.shape[0] ?? 1;
  const values = Array.isArray(batch) ? batch : batch && typeof batch === "object" ? Object.values(batch) : [];
  const t = values.find((v) => v instanceof tf.Tensor) as tf.Tensor | undefined;
  return t?.shape[0] ?? 1;
}

/**
 * The data cut into optimizer steps: `accumulation` micro-batches each (fewer for a step that an epoch ends
 * inside), until `epochs` are done; counts the steps of each epoch, so that the run's total is known after
 * the first epoch.
 */
export class StepBatches<B> {
  /** Steps an epoch takes, once one has ended. */
  stepsPerEpoch: number | undefined;
  private epochs: EpochBatches<B>;
  private stepsThisEpoch = 0;

  constructor(
    private readonly factory: (epoch: number, rng: Rng) => AsyncIterable<B> | Iterable<B>,
    private readonly seed: number,
    private readonly accumulation: number,
    private readonly maxEpochs: number | undefined,
    private readonly discard: (batch: B) => void,
  ) {
    this.epochs = new EpochBatches(factory, seed, 0, 0, discard);
  }

  /** Epoch in progress (0-based). */
  get epoch(): number {
    return this.epochs.epoch;
  }

  /** Batches of the epoch in progress consumed. */
  get position(): number {
    return this.epochs.position;
  }

  /** Continues at batch `position` of `epoch` (a checkpoint's place). */
  resumeAt(epoch: number, position: number): void {
    this.epochs = new EpochBatches(this.factory, this.seed, epoch, position, this.discard);
    this.stepsThisEpoch = Math.ceil(position / this.accumulation);
  }

  /** The micro-batches of the next step, each with its epoch; none when the data is done. */
  async next(): Promise<Array<{ batch: B; epoch: number }>> {
    const out: Array<{ batch: B; epoch: number }> = [];
    while (out.length < this.accumulation) {
      if (this.maxEpochs !== undefined && this.epochs.epoch >= this.maxEpochs) break;
      const epoch = this.epochs.epoch;
      const batch = await this.epochs.next();
      if (batch === undefined) {
        this.stepsPerEpoch ??= this.stepsThisEpoch + (out.length > 0 ? 1 : 0);
        this.stepsThisEpoch = out.length > 0 ? -1 : 0;
        if (out.length > 0) break; // the epoch ended inside an accumulation: step over what we have
        continue;
      }
      out.push({ batch, epoch });
    }
    if (out.length > 0) this.stepsThisEpoch++;
    return out;
  }

  /** Steps of the whole run, where known: `maxSteps`, or `epochs` × the steps of an epoch, whichever is less. */
  totalSteps(maxSteps: number | undefined): number | undefined {
    const byEpochs =
      this.maxEpochs !== undefined && this.stepsPerEpoch ? this.maxEpochs * this.stepsPerEpoch : undefined;
    return maxSteps !== undefined && byEpochs !== undefined ? Math.min(maxSteps, byEpochs) : (maxSteps ?? byEpochs);
  }

  /** Closes the open iterator (runs a generator's `finally`). */
  close(): Promise<void> {
    return this.epochs.close();
  }
}
