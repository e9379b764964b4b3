/**
 * The trainer's view of the data: epochs of batches from a factory, with the position (epoch, batches
 * consumed) that a checkpoint saves and a resume restores.
 */
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
