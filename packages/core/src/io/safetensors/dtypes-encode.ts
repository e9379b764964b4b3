/**
 * Encoding TF.js values into safetensors element bytes: float32 → F16 / BF16 with round-to-nearest-even
 * (as PyTorch's `.half()` / `.bfloat16()`), int32 → I64, and the native F32 / I32 / BOOL bytes.
 */
import type { SafetensorsDtype } from "./dtypes.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value → IEEE half bits, round-to-nearest-even; overflow → ±inf, NaN → 0x7e00 (with sign). */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float32 value → bfloat16 bits, round-to-nearest-even; NaN → 0x7fc0 (with sign). */
export function floatToBFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if (Number.isNaN(value)) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The dtypes `encodeValues` writes. */
export type EncodableDtype = Extract<SafetensorsDtype, "F32" | "F16" | "BF16" | "I32" | "I64" | "BOOL" | "U8">;

/**
 * Encodes TF.js tensor values (`Float32Array`, `Int32Array`, or `Uint8Array` for bool) as little-endian
 * `dtype` elements. Float → integer and integer → float conversions are not done here (cast first).
 */
export function encodeValues(
  values: Float32Array | Int32Array | Uint8Array,
  dtype: EncodableDtype,
  where: string,
): Uint8Array {
  const n = values.length;
  const isFloat = values instanceof Float32Array;
  const wantsFloat = dtype === "F32" || dtype === "F16" || dtype === "BF16";
  if (isFloat !== wantsFloat)
    throw new Error(`${where}: cannot store ${isFloat ? "float" : "integer"} values as ${dtype} (cast first)`);
  switch (dtype) {
    case "F16":
    case "BF16": {
      const out = new Uint16Array(n);
      const encode = dtype === "F16" ? floatToHalfBits : floatToBFloat16Bits;
      for (let i = 0; i < n; i++) out[i] = encode(values[i]!);
      return new Uint8Array(out.buffer);
    }
    case "I64": {
      const out = new Int32Array(2 * n);
      for (let i = 0; i < n; i++) {
        out[2 * i] = values[i]!;
        out[2 * i + 1] = values[i]! < 0 ? -1 : 0;
      }
      return new Uint8Array(out.buffer);
    }
    case "U8": {
      const bad = values.findIndex((v: number) => v < 0 || v > 255);
      if (bad >= 0) throw new Error(`${where}: value ${values[bad]} at flat index ${bad} does not fit in U8`);
      return Uint8Array.from(values);
    }
    case "BOOL":
      return Uint8Array.from(values, (v: number) => (v ? 1 : 0));
    case "I32": {
      const ints = values instanceof Int32Array ? values : Int32Array.from(values);
      return new Uint8Array(ints.buffer, ints.byteOffset, ints.byteLength);
    }
    default:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }
}
