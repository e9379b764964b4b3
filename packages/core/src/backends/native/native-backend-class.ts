import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { tf } from "../../tf.js";
import { BufferPool } from "./buffer-pool.js";
import type { LaunchQueue } from "./launch-queue.js";

type BackendValues = Parameters<MathBackendCPU["write"]>[0];

/** Most bytes of released buffers kept for reuse: env `BIRDVLM_POOL_MIB`, default 4096 (a training step reuses its whole peak). */
function poolCapBytes(): number {
  const mib = Number(process.env.BIRDVLM_POOL_MIB ?? 4096);
  return (Number.isFinite(mib) && mib >= 0 ? mib : 4096) * 1024 * 1024;
}

/**
 * The cpu backend under the name `native`, whose kernel outputs come from a {@link BufferPool}: buffers are
 * returned to the pool when the last tensor holding them is disposed, views of pooled buffers are copied
 * before they are stored, and reads return copies, so a recycled buffer is never visible to a caller. The
 * addon's kernels run in order on its own thread ({@link LaunchQueue}); every read of a tensor's values first
 * waits for them ({@link NativeBackend.synchronizeLaunches}).
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool(poolCapBytes());

  constructor(private readonly launches?: LaunchQueue) {
    super();
    // The cpu backend's first write warns "install tfjs-node"; this backend is the answer to that.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * Waits until every queued kernel has run: call it before JavaScript reads or writes a tensor's values that a
   * native kernel may still write or read.
   */
  synchronizeLaunches(): void {
    this.launches?.synchronize();
  }

  /** Kernels queued and not yet known to have run (0 right after any wait). */
  get queuedLaunches(): number {
    return this.launches?.pending ?? 0;
  }

  private adopt(values: BackendValues): BackendValues {
    if (this.pool.isViewOfPooled(values)) {
      this.synchronizeLaunches();
      return (values as Float32Array).slice();
    }
    if (this.pool.isPooled(values)) this.pool.retain(values);
    return values;
  }

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    return super.write(this.adopt(values), shape, dtype);
  }

  override move(dataId: tf.DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, this.adopt(values), shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): BackendValues {
    this.synchronizeLaunches();
    const values = super.readSync(dataId);
    return this.pool.isPooled(values) ? values.slice() : values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const disposed = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId) && this.pool.isPooled(values)) this.pool.release(values);
    return disposed;
  }

  /** The wall time of `f` and of the kernels it queued (`tf.time`, and each kernel's time under `tf.profile`). */
  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = performance.now();
    f();
    this.synchronizeLaunches();
    return { kernelMs: performance.now() - start };
  }

  override dispose(): void {
    this.synchronizeLaunches();
    this.pool.clear();
    super.dispose();
  }
}
