/**
 * The safetensors header: an 8-byte little-endian length N, then N bytes of JSON
 * `{"__metadata__": {..}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...}` (offsets relative to
 * the data that follows the header). Parsing validates it against the file size; building writes it the way
 * the reference (Rust) writer does.
 */
import { dtypeBytes, dtypeRank, isSafetensorsDtype, type SafetensorsDtype } from "./dtypes.js";

/** The reference implementation refuses headers above 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file, as its header describes it. */
export interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets `[begin, end)` relative to the start of the data section. */
  begin: number;
  end: number;
}

/** A parsed header: the tensors in file (offset) order, and `__metadata__`. */
export interface ParsedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates the JSON header `text` of `file`, whose data section holds `dataBytes` bytes.
 * Throws an error naming the file, the problem and the tensor.
 */
export function parseHeader(file: string, text: string, dataBytes: number): ParsedHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${file}: the safetensors header is not a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new Error(`${file}: __metadata__ is not an object of strings`);
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") throw new Error(`${file}: __metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor '${name}'`;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof info !== "object" || info === null) throw new Error(`${where}: header entry is not an object`);
    if (!isSafetensorsDtype(info.dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(info.dtype)}`);
    if (!Array.isArray(info.shape) || !info.shape.every(isIndex)) {
      throw new Error(`${where}: shape ${JSON.stringify(info.shape)} is not a list of non-negative integers`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with begin <= end`);
    }
    const shape = info.shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape) * dtypeBytes(info.dtype);
    if (end - begin !== expected) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${info.dtype} ` +
          `[${shape.join(", ")}] needs ${expected}`,
      );
    }
    if (end > dataBytes) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] are out of range: the data section holds ${dataBytes} bytes ` +
          `(truncated file?)`,
      );
    }
    entries.push({ name, dtype: info.dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1]!;
    const cur = entries[i]!;
    if (cur.begin < prev.end) {
      throw new Error(
        `${file}: tensor '${cur.name}' [${cur.begin}, ${cur.end}] overlaps tensor '${prev.name}' ` +
          `[${prev.begin}, ${prev.end}]`,
      );
    }
  }
  return { entries, metadata };
}

/** What the header builder needs of each tensor. */
export interface HeaderInput {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** UTF-8 byte order, as Rust compares `String`s. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Orders tensors as the reference writer does (dtype alignment descending, then name) and builds the header
 * bytes: compact JSON, `__metadata__` first, padded with spaces to a multiple of 8, offsets contiguous from 0.
 * Returns the header bytes (without the 8-byte length), the ordered tensors with their offsets, and the
 * size of the data section.
 */
export function buildHeader(
  tensors: HeaderInput[],
  metadata: Record<string, string> | undefined,
): { header: Buffer; entries: HeaderEntry[]; dataBytes: number } {
  const ordered = [...tensors].sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareBytes(a.name, b.name));
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const t of ordered) {
    const end = offset + elementCount(t.shape) * dtypeBytes(t.dtype);
    entries.push({ name: t.name, dtype: t.dtype, shape: t.shape, begin: offset, end });
    parts.push(
      `${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`,
    );
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const padding = (8 - (json.length % 8)) % 8;
  return { header: Buffer.concat([json, Buffer.alloc(padding, " ")]), entries, dataBytes: offset };
}
