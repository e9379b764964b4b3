/**
 * Reads safetensors files lazily: opening reads the header only; `read(name)` reads that tensor's own bytes at
 * its offset through a file handle, so a 5 GB shard never sits in memory as a whole.
 */
import { open, type FileHandle } from "node:fs/promises";
import { tf } from "../../tf.js";
import { decodeValues } from "./dtypes.js";
import { MAX_HEADER_BYTES, parseHeader, type HeaderEntry } from "./header.js";

/** Dtype (the safetensors name, e.g. `"BF16"`) and shape of a stored tensor. */
export interface TensorInfo {
  dtype: string;
  shape: number[];
}

/** A safetensors file, or a sharded checkpoint, read one tensor at a time. */
export interface SafetensorsReader {
  /** The file read (for a sharded checkpoint, its `model.safetensors.index.json`). */
  readonly path: string;
  /** The header's `__metadata__` (string to string). */
  readonly metadata: Record<string, string>;
  /** Tensor names, in file order. */
  names(): string[];
  /** Whether a tensor of that name is stored. */
  has(name: string): boolean;
  /** Dtype and shape of a stored tensor, without reading it. */
  info(name: string): TensorInfo;
  /**
   * Reads one tensor with its stored shape: F32, F16, BF16 (and F64) as float32; I64, I32, U8 and the other
   * integer types as int32 (an error names the tensor if a value does not fit); BOOL as bool.
   * The caller owns (disposes) the returned tensor.
   */
  read(name: string): Promise<tf.Tensor>;
  /** The tensor's stored bytes, undecoded (little-endian, `info(name).dtype`). */
  readBytes(name: string): Promise<Uint8Array>;
  /** Closes the file handle(s); reads after this fail. */
  close(): Promise<void>;
}

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

class FileReader implements SafetensorsReader {
  private handle: FileHandle | undefined;
  private readonly byName = new Map<string, HeaderEntry>();

  constructor(
    readonly path: string,
    handle: FileHandle,
    private readonly dataStart: number,
    private readonly entries: HeaderEntry[],
    readonly metadata: Record<string, string>,
  ) {
    this.handle = handle;
    for (const e of entries) this.byName.set(e.name, e);
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private entry(name: string): HeaderEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named '${name}' (${this.entries.length} tensors stored)`);
    return e;
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    if (!this.handle) throw new Error(`${this.path}: reader is closed (reading '${name}')`);
    return readExactly(this.handle, this.path, this.dataStart + e.begin, e.end - e.begin);
  }

  async read(name: string): Promise<tf.Tensor> {
    const e = this.entry(name);
    const bytes = await this.readBytes(name);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const { dtype, values } = decodeValues(e.dtype, bytes, count, `${this.path}: tensor '${name}'`);
    return tf.tensor(values, e.shape, dtype);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}

/**
 * Opens a `.safetensors` file and reads and validates its header (dtypes, shapes, offsets against the file
 * size). Tensors are read later, one at a time, with `read(name)`. Close the reader when done.
 */
export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  const handle = await open(path, "r");
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path}: not a file (a checkpoint folder? use openCheckpoint)`);
    const size = stats.size;
    if (size < 8) throw new Error(`${path}: truncated file (${size} bytes, a safetensors file starts with 8)`);
    const lengthBytes = await readExactly(handle, path, 0, 8);
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(size - 8)) {
      throw new Error(`${path}: header length ${headerLength} runs past the end of the file (${size} bytes)`);
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw new Error(`${path}: header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const n = Number(headerLength);
    const headerBytes = await readExactly(handle, path, 8, n);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
    } catch {
      throw new Error(`${path}: the safetensors header is not valid UTF-8`);
    }
    const { entries, metadata } = parseHeader(path, text, size - 8 - n);
    return new FileReader(path, handle, 8 + n, entries, metadata);
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
  const reader = await openSafetensors(path);
  const out: Record<string, tf.Tensor> = {};
  try {
    for (const n of reader.names()) out[n] = await reader.read(n);
  } catch (e) {
    Object.values(out).forEach((t) => t.dispose());
    throw e;
  } finally {
    await reader.close();
  }
  return out;
}
