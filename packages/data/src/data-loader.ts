import { rngFor, type Rng } from "@birdvlm/core";

/** Anything indexable: a dataset view (`CubDataset`, `NABirdsDataset`) or an array. */
export interface IndexedDataset<T> {
  readonly size: number;
  get(i: number): T;
}

/** What a transform is told about the item it processes. */
export interface TransformContext {
  /** Index of the item in the dataset. */
  index: number;
  epoch: number;
  /** A generator for this item in this epoch only: the same whatever the concurrency or timing. */
  rng: Rng;
}

/** Options of a {@link DataLoader}; plain data with defaults. */
export interface DataLoaderOptions<T, S, B> {
  dataset: IndexedDataset<T> | readonly T[];
  batchSize: number;
  /** Visit items in a seeded random order, a new one each epoch. Default `false`. */
  shuffle?: boolean;
  /** Seed of the order and of each item's generator. Default 0. */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize`. Default `false`. */
  dropLast?: boolean;
  /** Batches prepared ahead of the one the consumer holds. Default 2. */
  prefetch?: number;
  /** Items transformed at the same time. Default 4. */
  concurrency?: number;
  /** Turns an item into a sample (e.g. decodes its image). Default: the item itself. */
  transform?: (item: T, context: TransformContext) => Promise<S> | S;
  /**
   * Makes a batch from its samples when the batch is handed out (so tensors are created only for batches
   * actually taken, and nothing leaks when iteration stops early). Default: the array of samples.
   */
  collate?: (samples: S[], items: T[]) => B;
  /** A failing item stops the iteration with its error (`throw`, the default) or is skipped and counted (`skip`). */
  onError?: "throw" | "skip";
}

/** An item that failed and was skipped. */
export interface SkippedItem {
  index: number;
  epoch: number;
  error: Error;
}

type Outcome<T, S> = { ok: true; sample: S; item: T } | { ok: false; error: Error; index: number };

const KEEP_SKIPPED = 100;

/**
 * An async iterable of batches that transforms items ahead of the consumer (up to `prefetch` batches, with
 * `concurrency` items at a time), so decoding overlaps the model's compute. The order and every item's
 * random choices derive from `seed` and the epoch, so a run is reproducible whatever the timing.
 *
 * ```ts
 * const loader = new DataLoader({ dataset: cub.split("train"), batchSize: 32, shuffle: true, seed: 1,
 *   transform: (img, { rng }) => pipe.load(img, rng) });
 * for await (const samples of loader) { ... }           // epoch 0, then epoch 1 on the next loop
 * ```
 */
export class DataLoader<T, S = T, B = S[]> implements AsyncIterable<B> {
  /** Items skipped so far (with `onError: 'skip'`). */
  skipped = 0;
  /** The first skipped items, with their errors. */
  readonly skippedItems: SkippedItem[] = [];
  private nextEpoch = 0;
  private readonly o: Required<Omit<DataLoaderOptions<T, S, B>, "dataset" | "transform" | "collate">>;

  constructor(private readonly options: DataLoaderOptions<T, S, B>) {
    this.o = {
      batchSize: options.batchSize,
      shuffle: options.shuffle ?? false,
      seed: options.seed ?? 0,
      dropLast: options.dropLast ?? false,
      prefetch: options.prefetch ?? 2,
      concurrency: options.concurrency ?? 4,
      onError: options.onError ?? "throw",
    };
    const positive = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min)
        throw new Error(`DataLoader: ${name} must be an integer >= ${min}, got ${v}`);
    };
    positive("batchSize", this.o.batchSize, 1);
    positive("prefetch", this.o.prefetch, 0);
    positive("concurrency", this.o.concurrency, 1);
  }

  /** Number of items in the dataset. */
  get size(): number {
    const d = this.options.dataset;
    return "size" in d && typeof d.size === "number" ? d.size : (d as readonly T[]).length;
  }

  /** Number of batches per epoch. */
  get length(): number {
    return this.o.dropLast ? Math.floor(this.size / this.o.batchSize) : Math.ceil(this.size / this.o.batchSize);
  }

  /** Iterates the next epoch (0 first). */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    return this.epoch(this.nextEpoch++)[Symbol.asyncIterator]();
  }

  /** The batches of one given epoch (to resume a run at its epoch). */
  epoch(epoch: number): AsyncIterable<B> {
    return { [Symbol.asyncIterator]: () => this.run(epoch) };
  }

  /** The dataset positions in the order epoch `epoch` visits them. */
  order(epoch: number): number[] {
    const n = this.size;
    return this.o.shuffle ? rngFor(this.o.seed, "order", epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
  }

  private item(i: number): T {
    const d = this.options.dataset;
    return "get" in d && typeof d.get === "function" ? d.get(i) : (d as readonly T[])[i]!;
  }

  private async *run(epoch: number): AsyncGenerator<B> {
    const { batchSize, prefetch, concurrency, seed } = this.o;
    const order = this.order(epoch);
    const batches = this.length;
    const total = Math.min(order.length, batches * batchSize);
    const slots = Array.from({ length: total }, () => deferred<Outcome<T, S>>());
    const transform = this.options.transform ?? ((x: T) => x as unknown as S);
    let started = 0;
    let inflight = 0;
    let handedOut = 0;
    let stopped = false;

    const pump = (): void => {
      const limit = Math.min(total, (handedOut + Math.max(1, prefetch)) * batchSize);
      while (!stopped && started < limit && inflight < concurrency) {
        const k = started++;
        const index = order[k]!;
        inflight++;
        void (async () => {
          try {
            const item = this.item(index);
            const sample = await transform(item, { index, epoch, rng: rngFor(seed, "item", epoch, index) });
            slots[k]!.resolve({ ok: true, sample, item });
          } catch (e) {
            slots[k]!.resolve({ ok: false, error: e instanceof Error ? e : new Error(String(e)), index });
          } finally {
            inflight--;
            queueMicrotask(pump);
          }
        })();
      }
    };

    try {
      pump();
      for (let b = 0; b < batches; b++) {
        const outcomes: Array<Outcome<T, S>> = [];
        for (let k = b * batchSize; k < Math.min(total, (b + 1) * batchSize); k++)
          outcomes.push(await slots[k]!.promise);
        handedOut = b + 1;
        pump();
        const samples: S[] = [];
        const items: T[] = [];
        for (const r of outcomes) {
          if (r.ok) {
            samples.push(r.sample);
            items.push(r.item);
          } else if (this.o.onError === "skip") {
            this.skipped++;
            if (this.skippedItems.length < KEEP_SKIPPED)
              this.skippedItems.push({ index: r.index, epoch, error: r.error });
          } else {
            throw r.error;
          }
        }
        if (samples.length === 0) continue;
        yield this.options.collate ? this.options.collate(samples, items) : (samples as unknown as B);
      }
    } finally {
      stopped = true;
    }
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
