// Conv2D and its two gradients (NHWC, no dilation) as im2col + one SGEMM: the HWIO filter is already the
// [KH*KW*Cin, Cout] matrix that multiplies the gathered receptive fields.
import { tf } from "../../../tf.js";
import type { NativeAddon } from "../addon.js";
import type { BufferPool } from "../buffer-pool.js";
import { f32, type KernelArgs, type NativeKernel, output, withFallback } from "./util.js";

type TensorInfo = tf.TensorInfo;
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** The attributes of TF.js's convolution kernels (depthwise ones leave out `dataFormat`). */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The geometry of a convolution the native kernels handle (NHWC, dilation 1; a depthwise one also channel
 * multiplier 1), or undefined.
 */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise = false,
): Conv2DInfo | undefined {
  const dilations = attrs.dilations ?? 1;
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC" || (depthwise && filterShape[3] !== 1)) return undefined;
  if (!tf.backend_util.eitherStridesOrDilationsAreOne(attrs.strides, dilations)) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    "channelsLast",
  );
  return info.dilationHeight === 1 && info.dilationWidth === 1 ? info : undefined;
}

/** The addon's `dims` for im2col / col2im (and the depthwise convolution). */
export function dims(c: Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.filterHeight,
    c.filterWidth,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}

/** Rows (output pixels) and depth (receptive-field length) of the im2col matrix. */
function colsShape(c: Conv2DInfo): [number, number] {
  return [c.batchSize * c.outHeight * c.outWidth, c.filterHeight * c.filterWidth * c.inChannels];
}

/** The batch index list of a single product (made once, not per call). */
const FIRST_BATCH = new Int32Array(1);

/** out [m, n] = op(a) · op(b) on the addon's SGEMM (one batch). */
function gemm(
  addon: NativeAddon,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
): void {
  addon.matmul(a, b, out, 1, m, n, k, ta, tb, FIRST_BATCH, FIRST_BATCH, 1, 1, null, -1, 0);
}

/** A scratch buffer from the backend's pool, handed back by `done` (small ones, never pooled, are just dropped). */
function scratch(args: KernelArgs, n: number): [Float32Array, () => void] {
  const buf = output(args.backend, n);
  const pool = (args.backend as { pool?: BufferPool }).pool;
  return [buf, () => pool?.isPooled(buf) && pool.release(buf)];
}

/** Conv2D: y [B, OH, OW, Cout] = im2col(x) · filter. */
export const conv2d: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, filter } = args.inputs;
    const xv = f32(args.backend, x);
    const fv = f32(args.backend, filter);
    const c = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
    if (!xv || !fv || !c) return undefined;
    const [rows, depth] = colsShape(c);
    const out = output(args.backend, rows * c.outChannels);
    const [cols, done] = scratch(args, rows * depth);
    addon.im2col(xv, cols, dims(c));
    gemm(addon, cols, fv, out, rows, c.outChannels, depth, false, false);
    done();
    return args.backend.makeTensorInfo(c.outShape, "float32", out);
  });

/** Conv2DBackpropFilter: dFilter [KH, KW, Cin, Cout] = im2col(x)ᵀ · dy. */
export const conv2dBackpropFilter: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, dy } = args.inputs;
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    const xv = f32(args.backend, x);
    const dyv = f32(args.backend, dy);
    const c = convInfo(x.shape, attrs.filterShape, attrs);
    if (!xv || !dyv || !c) return undefined;
    const [rows, depth] = colsShape(c);
    const out = output(args.backend, depth * c.outChannels);
    const [cols, done] = scratch(args, rows * depth);
    addon.im2col(xv, cols, dims(c));
    gemm(addon, cols, dyv, out, depth, c.outChannels, rows, true, false);
    done();
    return args.backend.makeTensorInfo(attrs.filterShape, "float32", out);
  });

/** Conv2DBackpropInput: dx [B, H, W, Cin] = col2im(dy · filterᵀ). */
export const conv2dBackpropInput: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { dy, filter } = args.inputs;
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    const dyv = f32(args.backend, dy);
    const fv = f32(args.backend, filter);
    const c = convInfo(attrs.inputShape, filter.shape, attrs);
    if (!dyv || !fv || !c) return undefined;
    const [rows, depth] = colsShape(c);
    const [cols, done] = scratch(args, rows * depth);
    gemm(addon, dyv, fv, cols, rows, depth, c.outChannels, false, true);
    const out = output(args.backend, c.batchSize * c.inHeight * c.inWidth * c.inChannels);
    addon.col2im(cols, out, dims(c));
    done();
    return args.backend.makeTensorInfo(attrs.inputShape, "float32", out);
  });
