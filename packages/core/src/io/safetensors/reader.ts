/**
 * Reads safetensors files lazily in Node: opening reads the header only; `read(name)` reads that tensor's own
 * bytes at its offset through a file handle, so a 5 GB shard never sits in memory as a whole.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { tf } from "../../tf.js";
import { openSafetensorsSource, readAllTensors, type ByteSource, type SafetensorsReader } from "./source-reader.js";

export type { SafetensorsReader, TensorInfo } from "./source-reader.js";

/** Reads exactly `length` bytes at `position` into a fresh (aligned) buffer; short files are an error. */
async function readExactly(handle: FileHandle, file: string, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const chunk = 1 << 30;
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, Math.min(chunk, length - done), position + done);
    if (bytesRead === 0) {
      throw new Error(
        `${file}: unexpected end of file at byte ${position + done} (wanted ${length} bytes at ${position})`,
      );
    }
    done += bytesRead;
  }
  return out;
}

// Reference: Hugging Face safetensors `safe_open` (safetensors/src/tensor.rs `SafeTensors::deserialize`).
/**
 * Opens a `.safetensors` file and reads and validates its header (dtypes, shapes, offsets against the file
 * size). Tensors are read later, one at a time, with `read(name)`. Close the reader when done.
 */
export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  // Without blocking: a named pipe in place of a shard must not stall the open (it is refused below).
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path}: not a file (a checkpoint folder? use openCheckpoint)`);
    const source: ByteSource = {
      name: path,
      size: stats.size,
      read: (position, length) => readExactly(handle, path, position, length),
      close: () => handle.close(),
    };
    return await openSafetensorsSource(source);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * Reads every tensor of one `.safetensors` file (F16/BF16 widened to float32, I64 to int32), by name. The
 * caller disposes them; on an error, those read so far are freed and the file is closed.
 */
export async function readSafetensors(path: string): Promise<Record<string, tf.Tensor>> {
  return readAllTensors(await openSafetensors(path));
}
