/**
 * Products with bfloat16 weights, for inference: a weight kept as bf16 takes half the memory of float32 and
 * half the bytes a decoding step streams. Checkpoints stored as BF16 (Phi-3's) keep their exact values.
 */
import { tf } from "../tf.js";
import { gradientsRecorded, hasFusedKernel, runFusedKernel } from "./fused-kernel.js";

/** Kernel name of {@link bf16MatMul} (registered by the `native` backend). */
export const BF16_MATMUL_KERNEL = "BirdVLMBf16MatMul";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// Reference: PyTorch `torch.Tensor.bfloat16()` (round to nearest even).
/** float32 → bfloat16 bits, rounded to nearest even (NaN stays NaN); exact for values that are already bf16. */
export function toBf16Bits(value: number): number {
  f32[0] = value;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → the float32 value (exact). */
export function fromBf16Bits(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** Transposes a row-major `[rows, cols]` uint16 matrix into a new `[cols, rows]` one, in cache-sized tiles. */
function transposeBits(values: Uint16Array, rows: number, cols: number): Uint16Array {
  const out = new Uint16Array(values.length);
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = values[r * cols + c]!;
    }
  }
  return out;
}

// Reference: PyTorch a `torch.bfloat16` weight tensor (transformers `torch_dtype=torch.bfloat16`).
/**
 * A `[K, N]` weight matrix held as bfloat16 (row-major, as a Linear layer keeps `[in, out]`).
 *
 * Layout: one int32 tensor of `ceil(K·N / 2)` elements whose bytes are the K·N bf16 values in row-major order
 * (little-endian: element `2i` is the low 16 bits of int32 `i`, element `2i + 1` the high 16 bits; a last odd
 * element is paired with zero). TF.js has no 16-bit dtype, so pairs ride in int32; {@link bf16MatMul} reads them.
 *
 * The holder owns its tensor (and, on backends without the native kernel, a float32 copy made on first use):
 * call {@link Bf16Weight.dispose}.
 */
export class Bf16Weight {
  /** The bf16 pairs, int32 `[ceil(K·N / 2)]`. */
  readonly packed: tf.Tensor1D;
  private widened: tf.Tensor2D | undefined;

  private constructor(
    packed: tf.Tensor1D,
    /** `[K, N]`. */
    readonly shape: [number, number],
  ) {
    this.packed = packed;
  }

  /** From bf16 bits of a row-major `[rows, cols]` matrix; `transpose` stores it as `[cols, rows]` (a PyTorch `[out, in]` weight → `[in, out]`). */
  static fromBits(bits: Uint16Array, shape: [number, number], options: { transpose?: boolean } = {}): Bf16Weight {
    const [rows, cols] = shape;
    if (bits.length !== rows * cols) throw new Error(`Bf16Weight.fromBits: ${bits.length} values for [${shape}]`);
    const ordered = options.transpose ? transposeBits(bits, rows, cols) : bits;
    const ints = new Int32Array(Math.ceil(ordered.length / 2));
    new Uint16Array(ints.buffer, 0, ordered.length).set(ordered);
    return new Bf16Weight(tf.tensor1d(ints, "int32"), options.transpose ? [cols, rows] : [rows, cols]);
  }

  /** From float32 values of a row-major `[K, N]` matrix, each rounded to the nearest bf16 (exact for bf16 values). */
  static fromFloat32(values: Float32Array, shape: [number, number]): Bf16Weight {
    const [k, n] = shape;
    if (values.length !== k * n) throw new Error(`Bf16Weight.fromFloat32: ${values.length} values for [${shape}]`);
    const bits = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) bits[i] = toBf16Bits(values[i]!);
    return Bf16Weight.fromBits(bits, shape);
  }

  /** From a float32 `[K, N]` tensor (read back to the host once; not for a hot loop). */
  static fromTensor(t: tf.Tensor2D): Bf16Weight {
    if (t.rank !== 2 || t.dtype !== "float32")
      throw new Error(`Bf16Weight.fromTensor: expected a float32 [K, N] tensor, got ${t.dtype} [${t.shape}]`);
    return Bf16Weight.fromFloat32(t.dataSync() as Float32Array, t.shape as [number, number]);
  }

  /** The bf16 bits, row-major `[K, N]` (read back to the host). */
  bits(): Uint16Array {
    const ints = this.packed.dataSync() as Int32Array;
    return new Uint16Array(ints.buffer, ints.byteOffset, this.shape[0] * this.shape[1]).slice();
  }

  /** The values widened to a new float32 `[K, N]` tensor (exact). The caller disposes it. */
  toFloat32(): tf.Tensor2D {
    const bits = this.bits();
    const out = new Float32Array(bits.length);
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
    return tf.tensor2d(out, this.shape);
  }

  /** Bytes held by the bf16 values (2 per element). */
  get byteLength(): number {
    return this.packed.size * 4;
  }

  /** The float32 copy used where the backend has no bf16 kernel (made once, kept until dispose). @internal */
  float32Copy(): tf.Tensor2D {
    if (!this.widened) this.widened = tf.keep(this.toFloat32());
    return this.widened;
  }

  /** Frees the bf16 tensor and any float32 copy. */
  dispose(): void {
    this.packed.dispose();
    this.widened?.dispose();
    this.widened = undefined;
  }
}

// Reference: PyTorch `torch.nn.functional.linear` on a bf16 weight widened to float32 (`x @ w.float()`).
/**
 * `x · W` with W held as bfloat16, products and sums in float32. On the `native` backend, one kernel that
 * widens W in registers (decoding, M = 1: half the bytes of a float32 weight streamed) or per block before the
 * SGEMM (M > 1); elsewhere (and with fused kernels off), `tf.matMul` with a float32 copy of W made on first use.
 * Inference only: an error while gradients are recorded (train with float32 weights).
 *
 * @param x `[M, K]` float32.
 * @param weight `[K, N]` bf16.
 * @returns `[M, N]` float32.
 */
export function bf16MatMul(x: tf.Tensor2D, weight: Bf16Weight): tf.Tensor2D {
  const [k, n] = weight.shape;
  if (x.rank !== 2 || x.shape[1] !== k)
    throw new Error(`bf16MatMul: x [${x.shape}] must be [M, ${k}] for a weight [${k}, ${n}]`);
  if (x.dtype !== "float32") throw new Error(`bf16MatMul: x must be float32, got ${x.dtype}`);
  if (gradientsRecorded()) {
    throw new Error("bf16MatMul: bf16 weights are for inference only (no gradients); train with float32 weights");
  }
  if (hasFusedKernel(BF16_MATMUL_KERNEL)) {
    return runFusedKernel(BF16_MATMUL_KERNEL, { x, w: weight.packed }, { k, n }) as tf.Tensor2D;
  }
  return tf.matMul(x, weight.float32Copy());
}
