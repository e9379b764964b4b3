/**
 * Synchronous reads (`dataSync`, `arraySync`, `bufferSync`) for TF.js's WebGPU backend in Node.
 *
 * TF.js reads a GPU buffer synchronously through an `OffscreenCanvas`, which Node lacks, and WebGPU only maps
 * buffers asynchronously. Here the buffer is copied to a staging buffer and mapped as TF.js's async `read`
 * does; then, instead of turning the event loop, Dawn's own event processing is run on the spot until it
 * reports the staging buffer mapped. Dawn's Node binding (the `webgpu` package) resolves its promises from
 * `instance.ProcessEvents()`, which it queues with the global `setImmediate` while work is in flight;
 * {@link hookDawnTicks} (installed before Dawn is created) records those queued native callbacks so that a read
 * can call them at once. Nothing else runs inside a read: no timers, I/O or other immediates. The staging
 * buffer's `mapState` is polled rather than the map promise, whose continuation cannot run inside a
 * synchronous call. Hot paths should still `await tensor.data()`: a synchronous read stalls the JS thread.
 */
import { tf } from "../../tf.js";

type BackendValues = Awaited<ReturnType<tf.KernelBackend["read"]>>;

interface StagingBuffer {
  size: number;
  mapState: "unmapped" | "pending" | "mapped";
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

interface TensorData {
  values?: BackendValues | null;
  dtype: tf.DataType;
  resource?: StagingBuffer;
  complexTensorInfos?: { real: tf.TensorInfo; imag: tf.TensorInfo };
}

/** The internals of TF.js's `WebGPUBackend` (4.22) that {@link withNodeReadSync} uses, as its `read` does. */
interface WebGPUBackendInternals {
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void };
  commandEncoder: {
    copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void;
  };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** A Dawn event-processing callback queued with `setImmediate`, run at most once (by the loop or by a read). */
interface DawnTick {
  run: () => void;
  done: boolean;
}

/** The queued callbacks that have not run yet (each leaves the set when it runs). */
const queuedTicks = new Set<DawnTick>();
let hooked = false;

/**
 * Wraps the global `setImmediate` so that the callbacks Dawn queues (anonymous native functions, which is how
 * Dawn's Node binding schedules `ProcessEvents`) are recorded and may be run early by a synchronous read; each
 * still runs exactly once. Other callbacks go straight through. Call before Dawn is created; idempotent.
 */
export function hookDawnTicks(): void {
  if (hooked) return;
  hooked = true;
  const original = globalThis.setImmediate;
  const wrapped = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (args.length > 0 || !isAnonymousNative(callback)) return original(callback, ...args);
    const tick: DawnTick = { run: callback as () => void, done: false };
    queuedTicks.add(tick);
    return original(() => runTick(tick));
  }) as typeof setImmediate;
  Object.assign(wrapped, original); // keeps util.promisify's custom form
  globalThis.setImmediate = wrapped;
}

function isAnonymousNative(f: unknown): boolean {
  return typeof f === "function" && f.name === "" && Function.prototype.toString.call(f).includes("[native code]");
}

function runTick(tick: DawnTick): void {
  if (tick.done) return;
  tick.done = true;
  queuedTicks.delete(tick);
  tick.run();
}

/** Runs the Dawn callbacks queued so far (each once), now; false when none was queued. */
export function processDawnEvents(): boolean {
  const ticks = [...queuedTicks];
  for (const tick of ticks) runTick(tick);
  return ticks.length > 0;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (while the GPU works). */
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

const READ_TIMEOUT_MS = 600_000;
const IDLE_TIMEOUT_MS = 5_000;

/** Reads a GPU buffer's bytes synchronously (see the module comment). */
function readBufferSync(backend: WebGPUBackendInternals, buffer: StagingBuffer): ArrayBuffer {
  const g = globalThis as unknown as {
    GPUBufferUsage: { COPY_DST: number; MAP_READ: number };
    GPUMapMode: { READ: number };
  };
  const size = buffer.size;
  const staging = backend.bufferManager.acquireBuffer(size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
  backend.submitQueue();
  let failure: unknown;
  staging.mapAsync(g.GPUMapMode.READ).catch((e: unknown) => {
    failure = e ?? new Error("mapAsync failed");
  });
  const start = Date.now();
  let idleSince = start;
  let wait = 0.02;
  while (staging.mapState === "pending" && failure === undefined) {
    const now = Date.now();
    if (now - start > READ_TIMEOUT_MS) throw new Error(`webgpu readSync: no data after ${READ_TIMEOUT_MS / 1000} s`);
    if (processDawnEvents()) idleSince = now;
    else if (now - idleSince > IDLE_TIMEOUT_MS)
      throw new Error(
        "webgpu readSync: Dawn queued no event processing (was Dawn created before hookDawnTicks?); " +
          "use 'await tensor.data()' instead",
      );
    if (staging.mapState !== "pending") break;
    sleep(wait);
    wait = Math.min(wait * 2, 1);
  }
  if (staging.mapState !== "mapped")
    throw new Error(`webgpu readSync: mapping the staging buffer failed (${String(failure)})`);
  const bytes = staging.getMappedRange().slice(0);
  staging.unmap();
  backend.bufferManager.releaseBuffer(staging);
  return bytes;
}

/**
 * A subclass of TF.js's `WebGPUBackend` class whose `readSync` works in Node. Values already on the host come
 * back as TF.js returns them; values on the GPU are read as described in the module comment and cached on the
 * host, as TF.js's `read` caches them.
 */
export function withNodeReadSync<C extends new (...args: any[]) => object>(Base: C): C {
  return class NodeWebGPUBackend extends Base {
    readSync(dataId: object): BackendValues {
      const self = this as unknown as WebGPUBackendInternals & { readSync(id: object): BackendValues };
      const data = self.tensorMap.get(dataId);
      if (!data) throw new Error("webgpu readSync: the tensor was disposed or never registered");
      if (data.values != null || data.dtype === "string") return data.values as BackendValues;
      let values: BackendValues;
      if (data.dtype === "complex64" && data.complexTensorInfos) {
        const real = self.readSync(data.complexTensorInfos.real.dataId) as Float32Array;
        const imag = self.readSync(data.complexTensorInfos.imag.dataId) as Float32Array;
        values = tf.backend_util.mergeRealAndImagArrays(real, imag);
      } else {
        if (!data.resource || typeof data.resource.size !== "number")
          throw new Error("webgpu readSync: the tensor is not in a GPU buffer");
        values = tf.util.convertBackendValuesAndArrayBuffer(
          readBufferSync(self, data.resource),
          data.dtype,
        ) as BackendValues;
      }
      data.values = values;
      return values;
    }
  };
}
