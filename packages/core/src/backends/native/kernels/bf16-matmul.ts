// The native kernels of core's bf16MatMul and bf16Gather ops (`ops/bf16-*.ts`): x [M, K] float32 times a bfloat16 weight
// [K, N] kept as int32 pairs, widened in registers (M = 1) or per column block before the SGEMM (M > 1).
import type { tf } from "../../../tf.js";
import { f32, type KernelArgs, output } from "./util.js";
import type { NativeOnlyKernel } from "./native-only-kernel.js";

function int32(args: KernelArgs, name: string, op: string): Int32Array {
  const t = args.inputs[name]!;
  const v = t.dtype === "int32" ? args.backend.data.get(t.dataId).values : undefined;
  if (!(v instanceof Int32Array)) throw new Error(`${op}: ${name} must be an int32 tensor`);
  return v;
}

/** BirdVLMBf16Gather: inputs w int32 (bf16 pairs of a `[rows, dim]` table), indices int32 `[n]`; attr dim; output `[n, dim]` float32. */
export const bf16GatherKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "native BirdVLMBf16Gather";
    const { dim } = args.attrs as { dim: number };
    const rows = int32(args, "indices", op);
    const out = output(args.backend, rows.length * dim);
    addon.bf16GatherRows(int32(args, "w", op), rows, out, dim);
    return args.backend.makeTensorInfo([rows.length, dim], "float32", out);
  }) as unknown as tf.KernelFunc;

/** BirdVLMBf16MatMul: inputs x `[M, K]` float32, w int32 `[ceil(K·N / 2)]`; attrs k, n; output `[M, N]` float32. */
export const bf16MatMulKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "native BirdVLMBf16MatMul";
    const { x, w } = args.inputs;
    const { k, n } = args.attrs as { k: number; n: number };
    const xv = f32(args.backend, x);
    if (!xv) throw new Error(`${op}: x must be a float32 tensor`);
    if (x.shape.length !== 2 || x.shape[1] !== k) throw new Error(`${op}: x [${x.shape}] must be [M, ${k}]`);
    const wv = w.dtype === "int32" ? args.backend.data.get(w.dataId).values : undefined;
    if (!(wv instanceof Int32Array)) throw new Error(`${op}: w must be an int32 tensor of bf16 pairs`);
    const m = x.shape[0]!;
    const out = output(args.backend, m * n);
    addon.bf16MatMul(xv, wv, out, m, n, k);
    return args.backend.makeTensorInfo([m, n], "float32", out);
  }) as unknown as tf.KernelFunc;
