import { tf, type KVCache } from "@birdvlm/core";

/** Keys and values of one layer, `[B, kvHeads, S, headDim]` each. */
export interface LayerKV {
  keys: tf.Tensor4D;
  values: tf.Tensor4D;
}

/**
 * The key/value cache of a Phi-3 decoder: one `LayerKV` per layer, extended in place by each forward pass
 * that receives it. Dispose it when the generation is done.
 */
export class Phi3KVCache implements KVCache {
  private readonly layers: Array<LayerKV | undefined>;
  private disposed = false;

  constructor(readonly numLayers: number) {
    this.layers = new Array<LayerKV | undefined>(numLayers).fill(undefined);
  }

  /** Number of positions already cached. */
  get length(): number {
    return this.layers[0]?.keys.shape[2] ?? 0;
  }

  /** Batch size of the cached sequences (0 while empty). */
  get batchSize(): number {
    return this.layers[0]?.keys.shape[0] ?? 0;
  }

  /** The cached keys/values of `layer`, or `undefined` while empty. */
  get(layer: number): LayerKV | undefined {
    this.check();
    return this.layers[layer];
  }

  /**
   * Appends new keys/values `[B, kvHeads, T, headDim]` to `layer` and returns the whole `[B, kvHeads, S+T,
   * headDim]`. The cache owns the result (kept out of any `tf.tidy`); the inputs stay the caller's.
   */
  append(layer: number, keys: tf.Tensor4D, values: tf.Tensor4D): LayerKV {
    this.check();
    const old = this.layers[layer];
    const next: LayerKV = old
      ? { keys: tf.keep(tf.concat([old.keys, keys], 2)), values: tf.keep(tf.concat([old.values, values], 2)) }
      : { keys: tf.keep(keys.clone()), values: tf.keep(values.clone()) };
    if (old) {
      old.keys.dispose();
      old.values.dispose();
    }
    this.layers[layer] = next;
    return next;
  }

  /** Frees every cached tensor. */
  dispose(): void {
    for (const l of this.layers) {
      l?.keys.dispose();
      l?.values.dispose();
    }
    this.layers.fill(undefined);
    this.disposed = true;
  }

  private check(): void {
    if (this.disposed) throw new Error("Phi3KVCache: the cache was disposed");
  }
}
