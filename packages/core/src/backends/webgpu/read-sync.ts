/**
 * Synchronous reads (`dataSync`, `arraySync`, `bufferSync`) for TF.js's WebGPU backend in Node.
 *
 * TF.js reads a GPU buffer synchronously through an `OffscreenCanvas`, which Node lacks, and WebGPU only maps
 * buffers asynchronously. Here the buffer is copied to a staging buffer and mapped as TF.js's async `read`
 * does, then the event loop is turned (with `deasync`, an optional dependency) until Dawn reports the staging
 * buffer mapped; its `mapState` is polled rather than the map promise, whose continuation cannot run while
 * the caller is itself inside a promise job. Callbacks due meanwhile (timers, I/O) may run inside the read,
 * as with any deasync call; hot paths should `await tensor.data()` instead.
 */
import { createRequire } from "node:module";
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

const require = createRequire(import.meta.url);
let runLoopOnce: (() => void) | undefined;

/** Turns the event loop once (deasync), returning within about a millisecond. */
function turnEventLoop(): void {
  if (!runLoopOnce) {
    try {
      runLoopOnce = (require("deasync") as { runLoopOnce(): void }).runLoopOnce;
    } catch (e) {
      throw new Error(
        "dataSync/arraySync on the webgpu backend in Node needs the optional dependency 'deasync' " +
          `(${(e as Error).message.split("\n")[0]}); use 'await tensor.data()' / 'await tensor.array()' instead`,
      );
    }
  }
  const wake = setTimeout(() => undefined, 1); // so that one turn never blocks for long
  try {
    runLoopOnce();
  } finally {
    clearTimeout(wake);
  }
}

const READ_TIMEOUT_MS = 600_000;

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
  while (staging.mapState === "pending" && failure === undefined) {
    if (Date.now() - start > READ_TIMEOUT_MS)
      throw new Error(`webgpu readSync: no data after ${READ_TIMEOUT_MS / 1000} s`);
    turnEventLoop();
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
