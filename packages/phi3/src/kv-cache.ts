import { canWriteInPlace, exclusiveZeros, tf, writePositionsInPlace, type KVCache } from "@birdvlm/core";

/**
 * Keys and values of one layer, `[B, kvHeads, capacity, headDim]` each: positions `0 .. length-1` hold the
 * cache, later ones are spare capacity (absent where the backend cannot write in place: capacity = length).
 */
export interface LayerKV {
  keys: tf.Tensor4D;
  values: tf.Tensor4D;
  /** Positions filled. */
  length: number;
}

/** Capacity of a new or grown layer buffer: the next power of two, at least 16. */
function capacityFor(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

// Reference: transformers `cache_utils.py` `DynamicCache`.
/**
 * The key/value cache of a Phi-3 decoder: one `LayerKV` per layer, extended by each forward pass that
 * receives it. Where tensors live in host memory (cpu, native), each layer holds preallocated buffers written
 * in place (capacity doubling as it fills), so a decoding step copies only its new keys/values; elsewhere each
 * append concatenates. Dispose it when the generation is done. Not differentiable across steps.
 */
export class Phi3KVCache implements KVCache {
  private readonly layers: Array<LayerKV | undefined>;
  private disposed = false;

  constructor(readonly numLayers: number) {
    this.layers = new Array<LayerKV | undefined>(numLayers).fill(undefined);
  }

  /** Number of positions already cached. */
  get length(): number {
    return this.layers[0]?.length ?? 0;
  }

  /** Batch size of the cached sequences (0 while empty). */
  get batchSize(): number {
    return this.layers[0]?.keys.shape[0] ?? 0;
  }

  /** The cached keys/values of `layer` (with spare capacity past `length`), or `undefined` while empty. */
  get(layer: number): LayerKV | undefined {
    this.check();
    return this.layers[layer];
  }

  /**
   * Appends new keys/values `[B, kvHeads, T, headDim]` to `layer` and returns the layer's cache, now holding
   * `length + T` positions. The cache owns the result (kept out of any `tf.tidy`); the inputs stay the caller's.
   */
  append(layer: number, keys: tf.Tensor4D, values: tf.Tensor4D): LayerKV {
    this.check();
    const old = this.layers[layer];
    const next = this.appendInPlace(old, keys, values) ?? this.appendByConcat(old, keys, values);
    this.layers[layer] = next;
    return next;
  }

  /** Writes into the layer's buffers (grown by doubling when full); undefined where the backend cannot. */
  private appendInPlace(old: LayerKV | undefined, keys: tf.Tensor4D, values: tf.Tensor4D): LayerKV | undefined {
    if (!canWriteInPlace()) return undefined;
    const at = old?.length ?? 0;
    const t = keys.shape[2];
    let next = old;
    if (!old || old.keys.shape[2] < at + t) {
      const [b, h, , d] = keys.shape;
      const shape = [b, h, capacityFor(at + t), d];
      next = {
        keys: tf.keep(exclusiveZeros(shape)) as tf.Tensor4D,
        values: tf.keep(exclusiveZeros(shape)) as tf.Tensor4D,
        length: at,
      };
      const copied =
        !old ||
        (writePositionsInPlace(next.keys, old.keys, 0, at) && writePositionsInPlace(next.values, old.values, 0, at));
      if (!copied) {
        tf.dispose([next.keys, next.values]);
        return undefined;
      }
    }
    if (!writePositionsInPlace(next!.keys, keys, at) || !writePositionsInPlace(next!.values, values, at)) {
      if (next !== old) tf.dispose([next!.keys, next!.values]);
      return undefined;
    }
    if (old && next !== old) tf.dispose([old.keys, old.values]);
    return { keys: next!.keys, values: next!.values, length: at + t };
  }

  private appendByConcat(old: LayerKV | undefined, keys: tf.Tensor4D, values: tf.Tensor4D): LayerKV {
    // A concat needs exact lengths: drop spare capacity if an earlier append left some.
    const exact = (x: tf.Tensor4D, n: number) => (x.shape[2] === n ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, n, -1]));
    const next = old
      ? tf.tidy(() => ({
          keys: tf.keep(tf.concat([exact(old.keys, old.length), keys], 2)),
          values: tf.keep(tf.concat([exact(old.values, old.length), values], 2)),
        }))
      : { keys: tf.keep(keys.clone()), values: tf.keep(values.clone()) };
    if (old) tf.dispose([old.keys, old.values]);
    return { ...next, length: next.keys.shape[2] };
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
