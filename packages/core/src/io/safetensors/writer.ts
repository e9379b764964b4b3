/**
 * Writes safetensors files the way the reference (Rust / Python `safetensors`) writer does: tensors sorted by
 * dtype alignment then name, contiguous offsets, the JSON header padded with spaces to 8-byte alignment.
 * Tensors are fetched and written one at a time, and the file is written atomically.
 */
import type { FileHandle } from "node:fs/promises";
import { tf } from "../../tf.js";
import { dtypeBytes, dtypeOfTf, isSafetensorsDtype, type SafetensorsDtype } from "./dtypes.js";
import { encodeValues, type EncodableDtype } from "./dtypes-encode.js";
import { buildHeader } from "./header.js";
import { writeFileAtomic } from "../atomic.js";

/**
 * A tensor given as its stored bytes: e.g. BF16 or I64 data, or bytes copied from another file.
 * `data` may be a function, called only when the tensor is written (so large checkpoints need not be held
 * in memory at once).
 */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian element bytes, `prod(shape) * bytes(dtype)` long. */
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

/** What can be written: a TF.js tensor (float32 → F32, int32 → I32, bool → BOOL) or raw bytes. */
export type TensorSource = tf.Tensor | RawTensor;

function isTfTensor(t: TensorSource): t is tf.Tensor {
  return t instanceof tf.Tensor;
}

function describe(
  name: string,
  t: TensorSource,
  where: string,
): { name: string; dtype: SafetensorsDtype; shape: number[] } {
  if (isTfTensor(t)) {
    if (t.isDisposed) throw new Error(`${where}: tensor '${name}' is disposed`);
    return { name, dtype: dtypeOfTf(t.dtype, `${where}: tensor '${name}'`), shape: [...t.shape] };
  }
  if (!isSafetensorsDtype(t.dtype)) throw new Error(`${where}: tensor '${name}' has unknown dtype ${String(t.dtype)}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: tensor '${name}' has an invalid shape [${t.shape.join(", ")}]`);
  }
  return { name, dtype: t.dtype, shape: [...t.shape] };
}

async function bytesOf(name: string, t: TensorSource, expected: number, where: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (isTfTensor(t)) {
    const values = await t.data();
    bytes = new Uint8Array(values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
  } else {
    try {
      bytes = typeof t.data === "function" ? await t.data() : t.data;
    } catch (e) {
      throw new Error(`${where}: tensor '${name}': ${(e as Error).message}`, { cause: e });
    }
  }
  if (bytes.byteLength !== expected) {
    throw new Error(
      `${where}: tensor '${name}' has ${bytes.byteLength} bytes of data, its dtype and shape need ${expected}`,
    );
  }
  return bytes;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}

// Reference: Hugging Face safetensors `save_file` (safetensors/src/tensor.rs `serialize_to_file`).
/**
 * Writes `tensors` (name → tensor) and optional string `metadata` (`__metadata__`, e.g. `{ format: "pt" }`)
 * to a `.safetensors` file at `path` that the Python `safetensors` package loads. The file appears
 * atomically (temporary file beside it + rename). Tensors are not disposed.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorSource>,
  metadata?: Record<string, string>,
): Promise<void> {
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`${path}: metadata '${k}' must be a string, got ${typeof v}`);
    }
  }
  const inputs = Object.entries(tensors).map(([name, t]) => {
    if (name === "__metadata__" || name === "") throw new Error(`${path}: '${name}' is not a valid tensor name`);
    return describe(name, t, path);
  });
  const { header, entries } = buildHeader(inputs, metadata);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  await writeFileAtomic(path, async (handle) => {
    await writeAll(handle, Buffer.concat([length, header]));
    for (const e of entries) await writeAll(handle, await bytesOf(e.name, tensors[e.name]!, e.end - e.begin, path));
  });
}

/** Bytes a tensor takes in a safetensors file (used to plan shards). */
export function storedBytes(t: TensorSource): number {
  const dtype = isTfTensor(t) ? dtypeOfTf(t.dtype, "storedBytes") : t.dtype;
  return t.shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtype);
}

/**
 * Stores a TF.js tensor as another dtype, e.g. float32 weights as BF16 (half the bytes, round-to-nearest-even)
 * or int32 ids as I64: `writeSafetensors(path, { "lm_head.weight": storeAs(w, "BF16") })`.
 * The values are read and encoded only when written, so `tensor` must stay undisposed until then.
 */
export function storeAs(tensor: tf.Tensor, dtype: EncodableDtype): RawTensor {
  return {
    dtype,
    shape: [...tensor.shape],
    data: async () =>
      encodeValues((await tensor.data()) as Float32Array | Int32Array | Uint8Array, dtype, `as ${dtype}`),
  };
}
