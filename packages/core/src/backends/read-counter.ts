/**
 * Counts host read-backs of tensors (`data()` and `dataSync()`, which `array()`, `arraySync()`,
 * `buffer()` and `bufferSync()` call) while it is installed. Reads that CPU kernels make of their own inputs
 * (the backend's `readSync`) are not read-backs and are not counted. Use it to check that a loop of yours
 * (a training or decoding step) does not wait on the device: `const c = countReads(); ...; c.restore()`.
 */
import { tf } from "../tf.js";

/** A read-back counter; `restore()` puts TF.js's own methods back. */
export interface ReadCounter {
  /** Reads since installed. */
  readonly count: number;
  restore(): void;
}

type ReadMethods = Record<"data" | "dataSync", (this: tf.Tensor) => unknown>;

/** Installs a {@link ReadCounter} on `tf.Tensor.prototype`. */
export function countReads(): ReadCounter {
  const proto = tf.Tensor.prototype as unknown as ReadMethods;
  const own: ReadMethods = { data: proto.data, dataSync: proto.dataSync };
  let count = 0;
  for (const name of ["data", "dataSync"] as const) {
    proto[name] = function (this: tf.Tensor) {
      count++;
      return own[name].call(this);
    };
  }
  return {
    get count() {
      return count;
    },
    restore() {
      proto.data = own.data;
      proto.dataSync = own.dataSync;
    },
  };
}
