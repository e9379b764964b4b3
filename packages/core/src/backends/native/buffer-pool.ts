/**
 * Float32 output buffers of the native backend, recycled when their tensors are disposed: a training step
 * allocates the same shapes every time, so after the first step it allocates almost nothing, and peak memory
 * follows the live tensors instead of the garbage collector's lag.
 *
 * Safety: a buffer is recycled only when no tensor data owns it (owners are counted per buffer), views of
 * pooled buffers are never stored (the backend copies them), and reads hand out copies.
 */
export class BufferPool {
  /** Buffers smaller than this many elements are plain allocations. */
  static readonly MIN_ELEMENTS = 4096;
  private readonly free = new Map<number, Float32Array[]>();
  private readonly ours = new WeakSet<Float32Array>();
  private readonly ourBuffers = new WeakSet<ArrayBufferLike>();
  private readonly owners = new Map<Float32Array, number>();
  private freeBytes = 0;

  /** @param capBytes most bytes kept for reuse (beyond it, released buffers go to the garbage collector). */
  constructor(private readonly capBytes: number) {}

  /** A buffer of `n` elements whose contents are unspecified (the kernel writes every element). */
  take(n: number): Float32Array {
    if (n < BufferPool.MIN_ELEMENTS) return new Float32Array(n);
    const list = this.free.get(n);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(n);
    this.ours.add(fresh);
    this.ourBuffers.add(fresh.buffer);
    return fresh;
  }

  /** Whether `values` is a whole pooled buffer. */
  isPooled(values: unknown): values is Float32Array {
    return values instanceof Float32Array && this.ours.has(values);
  }

  /** Whether `values` is a view into a pooled buffer (not the buffer itself). */
  isViewOfPooled(values: unknown): boolean {
    return ArrayBuffer.isView(values) && !this.isPooled(values) && this.ourBuffers.has(values.buffer);
  }

  /** A tensor's data now holds `values`. */
  retain(values: Float32Array): void {
    this.owners.set(values, (this.owners.get(values) ?? 0) + 1);
  }

  /** A tensor's data no longer holds `values`; the last owner returns it to the pool. */
  release(values: Float32Array): void {
    const n = (this.owners.get(values) ?? 1) - 1;
    if (n > 0) {
      this.owners.set(values, n);
      return;
    }
    this.owners.delete(values);
    if (this.freeBytes + values.byteLength > this.capBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.freeBytes += values.byteLength;
  }

  /** Drops every free buffer (the garbage collector takes them). */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  /** Bytes of free buffers held for reuse. */
  get heldBytes(): number {
    return this.freeBytes;
  }
}
