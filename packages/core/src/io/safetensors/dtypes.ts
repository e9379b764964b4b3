/**
 * The safetensors element types: their sizes, the order the reference writer sorts them in, and how each
 * becomes the values of a TF.js tensor (float types → float32, integer types → int32, BOOL → bool).
 */
/** Every dtype name of the safetensors format, in the reference's (Rust `Dtype`) increasing order. */
export const SAFETENSORS_DTYPES = [
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
] as const;

/** A safetensors element type (`"F32"`, `"BF16"`, ...). */
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const BYTES: Record<SafetensorsDtype, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Whether `name` is a dtype of the safetensors format. */
export function isSafetensorsDtype(name: unknown): name is SafetensorsDtype {
  return typeof name === "string" && (SAFETENSORS_DTYPES as readonly string[]).includes(name);
}

/** Bytes per element of a safetensors dtype. */
export function dtypeBytes(dtype: SafetensorsDtype): number {
  return BYTES[dtype];
}

/** Rank of a dtype in the reference writer's order (higher = earlier in the file). */
export function dtypeRank(dtype: SafetensorsDtype): number {
  return SAFETENSORS_DTYPES.indexOf(dtype);
}

/** The values of a decoded tensor, ready for `tf.tensor(values, shape, dtype)`. */
export interface DecodedValues {
  dtype: "float32" | "int32" | "bool";
  values: Float32Array | Int32Array | Uint8Array;
}

let halfTable: Float32Array | undefined;

/** IEEE half-precision bits → float32 value (exact: every half is a float32). */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloat(h);
  }
  return halfTable;
}

/** Narrows 64-bit integers (little-endian pairs of 32-bit words) to int32, or names the first that does not fit. */
function narrow64(words: Int32Array, count: number, signed: boolean, where: string): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const low = words[2 * i]!;
    const high = words[2 * i + 1]!;
    const fits = signed ? high === low >> 31 : high === 0 && low >= 0;
    if (!fits) {
      const value = signed
        ? (BigInt(high) << 32n) | BigInt(low >>> 0)
        : (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
      throw new Error(`${where}: value ${value} at flat index ${i} does not fit in int32`);
    }
    out[i] = low;
  }
  return out;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
  throw new Error("safetensors: this reader assumes a little-endian machine");

/**
 * Decodes `count` elements stored as `dtype` (little-endian, as safetensors stores them).
 * `bytes` must start at offset 0 of its own ArrayBuffer (aligned). `where` names the tensor in errors.
 */
export function decodeValues(dtype: SafetensorsDtype, bytes: Uint8Array, count: number, where: string): DecodedValues {
  const buf = bytes.buffer;
  const at = bytes.byteOffset;
  switch (dtype) {
    case "F32":
      return { dtype: "float32", values: new Float32Array(buf, at, count) };
    case "F64":
      return { dtype: "float32", values: Float32Array.from(new Float64Array(buf, at, count)) };
    case "F16": {
      const table = halfLookup();
      const bits = new Uint16Array(buf, at, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[bits[i]!]!;
      return { dtype: "float32", values: out };
    }
    case "BF16": {
      const bits = new Uint16Array(buf, at, count);
      const words = new Uint32Array(count);
      for (let i = 0; i < count; i++) words[i] = bits[i]! << 16;
      return { dtype: "float32", values: new Float32Array(words.buffer) };
    }
    case "I32":
      return { dtype: "int32", values: new Int32Array(buf, at, count) };
    case "I64":
    case "U64":
      return { dtype: "int32", values: narrow64(new Int32Array(buf, at, 2 * count), count, dtype === "I64", where) };
    case "U32": {
      const words = new Uint32Array(buf, at, count);
      const bad = words.findIndex((v) => v > 0x7fffffff);
      if (bad >= 0) throw new Error(`${where}: value ${words[bad]} at flat index ${bad} does not fit in int32`);
      return { dtype: "int32", values: new Int32Array(buf, at, count) };
    }
    case "I16":
      return { dtype: "int32", values: Int32Array.from(new Int16Array(buf, at, count)) };
    case "U16":
      return { dtype: "int32", values: Int32Array.from(new Uint16Array(buf, at, count)) };
    case "I8":
      return { dtype: "int32", values: Int32Array.from(new Int8Array(buf, at, count)) };
    case "U8":
      return { dtype: "int32", values: Int32Array.from(new Uint8Array(buf, at, count)) };
    case "BOOL":
      return { dtype: "bool", values: new Uint8Array(buf, at, count) };
    default:
      throw new Error(`${where}: dtype ${dtype} cannot be read into a TF.js tensor (not supported)`);
  }
}

/** The safetensors dtype a TF.js tensor of `tfDtype` is written as. */
export function dtypeOfTf(tfDtype: string, where: string): SafetensorsDtype {
  if (tfDtype === "float32") return "F32";
  if (tfDtype === "int32") return "I32";
  if (tfDtype === "bool") return "BOOL";
  throw new Error(`${where}: a ${tfDtype} tensor cannot be written to safetensors`);
}
