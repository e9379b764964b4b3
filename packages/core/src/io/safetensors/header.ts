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
 * The first key that appears twice in one object of `text` (valid JSON), described for an error message:
 * `tensor 'a.weight'` at the top level, `'dtype' in 'a.weight'` deeper; `undefined` when every key is unique.
 * `JSON.parse` keeps the last of duplicate keys silently, so duplicates are found on the raw text.
 */
function duplicateKey(text: string): string | undefined {
  const keys: (Set<string> | null)[] = []; // one per open object, null for an array
  const owners: string[] = []; // the key each open container hangs from
  let current = "";
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = keys[keys.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return keys.length === 1 ? `tensor '${key}'` : `'${key}' in '${owners[owners.length - 1]}'`;
        top.add(key);
        current = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      owners.push(current);
      keys.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      keys.pop();
      owners.pop();
    } else if (c === 0x2c) expectKey = keys[keys.length - 1] !== null;
  }
  return undefined;
}

/**
 * Parses and validates the JSON header `text` of `file`, whose data section holds `dataBytes` bytes, as strictly
 * as the reference (Rust) implementation: a JSON object (starting with `{`), each tensor name once, known dtypes,
 * shapes of non-negative integers whose byte size matches its offsets, and offsets that tile the data section
 * exactly (the first tensor at 0, each starting where the previous ends, the last ending at the end of the file:
 * no gap, no overlap, no trailing bytes). Names are kept as data (`__proto__` is a tensor like any other).
 * Throws an error naming the file, the problem and the tensor.
 */
export function parseHeader(file: string, text: string, dataBytes: number): ParsedHeader {
  if (!text.startsWith("{")) {
    throw new Error(
      `${file}: the safetensors header does not start with '{' (got ${JSON.stringify(text.slice(0, 8))})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${file}: the safetensors header is not a JSON object`);
  }
  const twice = duplicateKey(text);
  if (twice) throw new Error(`${file}: the safetensors header names ${twice} twice (the file is ambiguous)`);
  const metadata = Object.create(null) as Record<string, string>;
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
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      throw new Error(`${where}: header entry is not an object`);
    }
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
    if (!Number.isSafeInteger(expected)) {
      throw new Error(`${where}: ${info.dtype} [${shape.join(", ")}] is too large to address`);
    }
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
  let at = 0;
  let prev: HeaderEntry | undefined;
  for (const cur of entries) {
    if (cur.begin < at) {
      throw new Error(
        `${file}: tensor '${cur.name}' [${cur.begin}, ${cur.end}] overlaps tensor '${prev!.name}' ` +
          `[${prev!.begin}, ${prev!.end}]`,
      );
    }
    if (cur.begin > at) {
      throw new Error(
        `${file}: tensor '${cur.name}' starts at byte ${cur.begin} of the data, but ` +
          `${prev ? `tensor '${prev.name}' ends` : "the data starts"} at ${at}: ${cur.begin - at} bytes belong to ` +
          `no tensor (offsets must be contiguous)`,
      );
    }
    at = cur.end;
    prev = cur;
  }
  if (at !== dataBytes) {
    throw new Error(
      `${file}: the tensors cover ${at} bytes of data, but the file holds ${dataBytes} after its header: ` +
        `${dataBytes - at} trailing bytes belong to no tensor`,
    );
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
