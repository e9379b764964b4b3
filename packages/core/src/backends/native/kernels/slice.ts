// Slice, SplitV and Unpack as strided copies (the cpu backend walks them element by element); contiguous
// slices are one run (never views, so every output owns its buffer).
import { tf } from "../../../tf.js";
import type { NativeAddon } from "../addon.js";
import { f32, type KernelArgs, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

type TensorInfo = tf.TensorInfo;

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** A copy of x[begin : begin + size] (or a view when it is contiguous); undefined when x is not float32. */
function sliceOf(
  addon: NativeAddon,
  args: KernelArgs,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo | undefined {
  const xv = f32(args.backend, x);
  if (!xv || x.shape.length === 0 || x.shape.length > 8) return undefined;
  const n = sizeOf(size);
  const strides = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  const out = output(args.backend, n);
  if (n === 0) return args.backend.makeTensorInfo(size, "float32", out);
  // A contiguous slice is one run: a copy of n floats (on the addon's queue, as every copy here).
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) addon.stridedCopy(xv, out, offset, [n], [1]);
  else addon.stridedCopy(xv, out, offset, size, strides);
  return args.backend.makeTensorInfo(size, "float32", out);
}

/** Slice (attrs `begin`, `size`). */
export const slice: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x } = args.inputs;
    const attrs = args.attrs as { begin: number | number[]; size: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    return sliceOf(addon, args, x, begin, size);
  });

/** SplitV (attrs `numOrSizeSplits`, `axis`). */
export const splitV: NativeKernel = (addon, cpu) =>
  ((args: KernelArgs) => {
    const { x } = args.inputs;
    if (!f32(args.backend, x)) return cpu(args as never);
    const attrs = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const splits = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    const size = x.shape.slice();
    return splits.map((s) => {
      const sz = size.slice();
      sz[axis] = s;
      const out = sliceOf(addon, args, x, begin.slice(), sz)!;
      begin[axis] += s;
      return out;
    });
  }) as unknown as tf.KernelFunc;

/** Unpack (attr `axis`): the slices along `axis`, that axis dropped. */
export const unpack: NativeKernel = (addon, cpu) =>
  ((args: KernelArgs) => {
    const { value } = args.inputs;
    if (!f32(args.backend, value)) return cpu(args as never);
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, value.shape)[0];
    const num = value.shape[axis];
    const outShape = value.shape.filter((_, d) => d !== axis);
    const size = value.shape.slice();
    size[axis] = 1;
    const begin = new Array<number>(value.shape.length).fill(0);
    const outs: TensorInfo[] = [];
    for (let i = 0; i < num; i++) {
      begin[axis] = i;
      const part = sliceOf(addon, args, value, begin.slice(), size)!;
      outs.push(args.backend.makeTensorInfo(outShape, "float32", f32(args.backend, part)!));
      args.backend.disposeIntermediateTensorInfo(part);
    }
    return outs;
  }) as unknown as tf.KernelFunc;
