// PadV2 (the gradient of every slice, such as a ViT's class token) as a constant fill and one block copy per run of
// the input's last axis, where the cpu backend computes every output element's index; short runs (fewer than 16
// floats) and other dtypes go to the cpu kernel.
import type { tf } from "../../../tf.js";
import { f32, hostAccess, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

/** PadV2 (attrs `paddings` `[before, after]` per axis, `constantValue`). */
export const padV2: NativeKernel = (_addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x } = args.inputs;
    const xv = f32(args.backend, x);
    const shape = x.shape;
    const rank = shape.length;
    const inner = shape[rank - 1] ?? 0;
    if (!xv || rank === 0 || inner < 16) return undefined;
    const { paddings, constantValue } = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
    const outShape = shape.map((s, d) => paddings[d]![0] + s + paddings[d]![1]);
    hostAccess(args.backend); // the fill and copies below are JavaScript's
    const out = output(args.backend, sizeOf(outShape));
    out.fill(constantValue);
    const strides = new Array<number>(rank).fill(1);
    for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * outShape[d + 1]!;
    // Output offset of each run, kept up to date as the input's outer index counts up like an odometer.
    const index = new Array<number>(rank - 1).fill(0);
    let offset = paddings.reduce((acc, [before], d) => acc + before * strides[d]!, 0);
    for (let from = 0; from < xv.length; from += inner) {
      out.set(xv.subarray(from, from + inner), offset);
      for (let d = rank - 2; d >= 0; d--) {
        offset += strides[d]!;
        if (++index[d]! < shape[d]!) break;
        offset -= shape[d]! * strides[d]!;
        index[d] = 0;
      }
    }
    return args.backend.makeTensorInfo(outShape, "float32", out) as tf.TensorInfo;
  });
