// Sum, Mean, Max, Min, Prod over a contiguous run of axes (the common case: last axes, or leading axes).
import { tf } from "../../../tf.js";
import { ReduceOp } from "../addon.js";
import { f32, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

/** A reduction kernel for addon op `op`. */
export function reduceKernel(op: number): NativeKernel {
  return (addon, cpu) =>
    withFallback(cpu, ({ inputs: { x }, backend, attrs }) => {
      const xv = f32(backend, x);
      if (!xv) return undefined;
      const { axis, reductionIndices, keepDims } = attrs as {
        axis?: number | number[];
        reductionIndices?: number | number[];
        keepDims: boolean;
      };
      const axes = tf.util.parseAxisParam((axis ?? reductionIndices)!, x.shape).sort((p, q) => p - q);
      if (axes.length === 0) return undefined;
      for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return undefined;
      const first = axes[0];
      const last = axes[axes.length - 1];
      const p = sizeOf(x.shape.slice(0, first));
      const r = sizeOf(x.shape.slice(first, last + 1));
      const q = sizeOf(x.shape.slice(last + 1));
      if (r === 0) return undefined;
      const outShape = keepDims
        ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
        : x.shape.filter((_, i) => i < first || i > last);
      const out = output(backend, p * q);
      if (out.length > 0) addon.reduce(op, xv, out, p, r, q);
      return backend.makeTensorInfo(outShape, "float32", out);
    });
}

/** TF.js reduction kernel name -> addon op. */
export const REDUCE_KERNELS: Record<string, number> = {
  Sum: ReduceOp.Sum,
  Mean: ReduceOp.Mean,
  Max: ReduceOp.Max,
  Min: ReduceOp.Min,
  Prod: ReduceOp.Prod,
};
