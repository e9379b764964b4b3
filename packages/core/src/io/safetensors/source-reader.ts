/**
 * Reads safetensors from any byte source (a file in Node, an `ArrayBuffer` fetched in a page): opening reads
 * and validates the header only; `read(name)` reads that tensor's own bytes at its offset, so a 5 GB shard
 * never sits in memory as a whole when the source can read ranges.
 */
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
  /** The file read (for a sharded checkpoint, its `model.safetensors.index.json`; a label for bytes in memory). */
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

/** Random access to the bytes of one safetensors file. */
export interface ByteSource {
  /** Names the file in errors (a path, a URL). */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `position`, in a fresh buffer that starts at offset 0 (short reads are errors). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Releases the source (a file handle); optional. */
  close?(): Promise<void>;
}

class SourceReader implements SafetensorsReader {
  private open = true;
  private readonly byName = new Map<string, HeaderEntry>();

  constructor(
    private readonly source: ByteSource,
    private readonly dataStart: number,
    private readonly entries: HeaderEntry[],
    readonly metadata: Record<string, string>,
  ) {
    for (const e of entries) this.byName.set(e.name, e);
  }

  get path(): string {
    return this.source.name;
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
    if (!this.open) throw new Error(`${this.path}: reader is closed (reading '${name}')`);
    return this.source.read(this.dataStart + e.begin, e.end - e.begin);
  }

  async read(name: string): Promise<tf.Tensor> {
    const e = this.entry(name);
    const bytes = await this.readBytes(name);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const { dtype, values } = decodeValues(e.dtype, bytes, count, `${this.path}: tensor '${name}'`);
    return tf.tensor(values, e.shape, dtype);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.source.close?.();
  }
}

/**
 * Reads and validates the header of the safetensors file in `source` (dtypes, shapes, offsets against its
 * size); tensors are read later, one at a time. The reader closes the source when closed.
 */
export async function openSafetensorsSource(source: ByteSource): Promise<SafetensorsReader> {
  const { name, size } = source;
  if (size < 8) throw new Error(`${name}: truncated file (${size} bytes, a safetensors file starts with 8)`);
  const lengthBytes = await source.read(0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(size - 8)) {
    throw new Error(`${name}: header length ${headerLength} runs past the end of the file (${size} bytes)`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${name}: header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const n = Number(headerLength);
  const headerBytes = await source.read(8, n);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${name}: the safetensors header is not valid UTF-8`);
  }
  const { entries, metadata } = parseHeader(name, text, size - 8 - n);
  return new SourceReader(source, 8 + n, entries, metadata);
}

/**
 * A safetensors file held in memory (e.g. `await (await fetch(url)).arrayBuffer()` in a page), read as
 * {@link openSafetensorsSource} reads a file. `name` labels it in errors.
 */
export function safetensorsFromBytes(
  bytes: ArrayBuffer | Uint8Array,
  name = "safetensors bytes",
): Promise<SafetensorsReader> {
  const all = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return openSafetensorsSource({
    name,
    size: all.byteLength,
    async read(position, length) {
      if (position + length > all.byteLength) {
        throw new Error(`${name}: unexpected end of file (wanted ${length} bytes at ${position})`);
      }
      // a copy, so typed views start aligned at offset 0 (Uint8Array's slice: a Node Buffer's own slice is a view)
      return Uint8Array.prototype.slice.call(all, position, position + length);
    },
  });
}

/**
 * Reads every tensor of `reader` by name (into an object without a prototype) and closes it. The caller
 * disposes them; on an error, those read so far are freed.
 */
export async function readAllTensors(reader: SafetensorsReader): Promise<Record<string, tf.Tensor>> {
  // Names are data: an object without a prototype, so a tensor named `__proto__` is a tensor like any other.
  const out = Object.create(null) as Record<string, tf.Tensor>;
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
