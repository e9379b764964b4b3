// Concat and Pack (stack) as block copies: each input's contiguous run per outer index goes in with one
// TypedArray.set (a memcpy) where the cpu backend copies element by element.
import { tf } from "../../../tf.js";
import { f32, hostAccess, type KernelArgs, type NativeKernel, output, sizeOf } from "./util.js";

type TensorInfo = tf.TensorInfo;

// Below this many floats per copied run, the cpu kernel's element loop is as fast as a call to `set`.
const MIN_RUN = 32;

/**
 * out[o, offset_i + r] = input_i[o, r]: every input viewed as [outer, inner_i] (outer the product of the dims
 * before `axis`); undefined (use the cpu kernel) when an input is not float32 or the runs are short.
 */
function joinRuns(args: KernelArgs, inputs: TensorInfo[], outer: number, outShape: number[]): TensorInfo | undefined {
  const values = inputs.map((t) => f32(args.backend, t));
  if (values.some((v) => !v)) return undefined;
  const inner = inputs.map((t) => sizeOf(t.shape) / Math.max(outer, 1));
  const width = inner.reduce((a, b) => a + b, 0);
  if (outer > 1 && Math.min(...inner.filter((n) => n > 0)) < MIN_RUN) return undefined;
  hostAccess(args.backend); // the copies below are JavaScript's
  const out = output(args.backend, outer * width);
  let offset = 0;
  inputs.forEach((_, i) => {
    const v = values[i]!;
    const n = inner[i]!;
    if (outer === 1) out.set(v.subarray(0, n), offset);
    else for (let o = 0; o < outer; o++) out.set(v.subarray(o * n, o * n + n), o * width + offset);
    offset += n;
  });
  return args.backend.makeTensorInfo(outShape, "float32", out);
}

function inputList(args: KernelArgs): TensorInfo[] {
  return Array.isArray(args.inputs) ? (args.inputs as TensorInfo[]) : Object.values(args.inputs);
}

/** Concat (attr `axis`). */
export const concat: NativeKernel = (_addon, cpu) =>
  ((args: KernelArgs) => {
    const inputs = inputList(args);
    const first = inputs[0];
    if (!first || first.shape.length === 0) return cpu(args as never);
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number | number[] }).axis, first.shape)[0]!;
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const outer = sizeOf(first.shape.slice(0, axis));
    return joinRuns(args, inputs, outer, outShape) ?? cpu(args as never);
  }) as unknown as tf.KernelFunc;

/** Pack (attr `axis`): inputs of one shape stacked along a new `axis`. */
export const pack: NativeKernel = (_addon, cpu) =>
  ((args: KernelArgs) => {
    const inputs = inputList(args);
    const first = inputs[0];
    if (!first || inputs.some((t) => !tf.util.arraysEqual(t.shape, first.shape))) return cpu(args as never);
    const rank = first.shape.length + 1;
    let axis = (args.attrs as { axis: number }).axis;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return cpu(args as never);
    const outShape = [...first.shape.slice(0, axis), inputs.length, ...first.shape.slice(axis)];
    return joinRuns(args, inputs, sizeOf(first.shape.slice(0, axis)), outShape) ?? cpu(args as never);
  }) as unknown as tf.KernelFunc;
