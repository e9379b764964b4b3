// DepthwiseConv2dNative and its two gradients (NHWC, channel multiplier 1, no dilation) on the addon's
// channel-vectorized loops; other cases go to the cpu kernels.
import { tf } from "../../../tf.js";
import { dims } from "./conv2d.js";
import { f32, type NativeKernel, output, withFallback } from "./util.js";

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

interface DepthwiseAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The geometry of a depthwise convolution the native kernels handle, or undefined. */
function depthwiseInfo(xShape: number[], filterShape: number[], attrs: DepthwiseAttrs): Conv2DInfo | undefined {
  const dilations = attrs.dilations ?? 1;
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC" || filterShape[3] !== 1) return undefined;
  if (!tf.backend_util.eitherStridesOrDilationsAreOne(attrs.strides, dilations)) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
    "channelsLast",
  );
  return info.dilationHeight === 1 && info.dilationWidth === 1 ? info : undefined;
}

/** DepthwiseConv2dNative: y [B, OH, OW, C] from x [B, H, W, C] and filter [KH, KW, C, 1]. */
export const depthwiseConv2d: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, filter } = args.inputs;
    const xv = f32(args.backend, x);
    const fv = f32(args.backend, filter);
    const c = depthwiseInfo(x.shape, filter.shape, args.attrs as unknown as DepthwiseAttrs);
    if (!xv || !fv || !c) return undefined;
    const out = output(args.backend, c.batchSize * c.outHeight * c.outWidth * c.outChannels);
    addon.depthwiseConv(xv, fv, out, dims(c));
    return args.backend.makeTensorInfo(c.outShape, "float32", out);
  });

/** DepthwiseConv2dNativeBackpropInput: dx [B, H, W, C] from dy and the filter. */
export const depthwiseConv2dBackpropInput: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { dy, filter } = args.inputs;
    const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
    const dyv = f32(args.backend, dy);
    const fv = f32(args.backend, filter);
    const c = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
    if (!dyv || !fv || !c) return undefined;
    const out = output(args.backend, c.batchSize * c.inHeight * c.inWidth * c.inChannels);
    addon.depthwiseConvGradInput(dyv, fv, out, dims(c));
    return args.backend.makeTensorInfo(attrs.inputShape, "float32", out);
  });

/** DepthwiseConv2dNativeBackpropFilter: dFilter [KH, KW, C, 1] from x and dy. */
export const depthwiseConv2dBackpropFilter: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, dy } = args.inputs;
    const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
    const xv = f32(args.backend, x);
    const dyv = f32(args.backend, dy);
    const c = depthwiseInfo(x.shape, attrs.filterShape, attrs);
    if (!xv || !dyv || !c) return undefined;
    const out = output(args.backend, c.filterHeight * c.filterWidth * c.inChannels);
    addon.depthwiseConvGradFilter(xv, dyv, out, dims(c));
    return args.backend.makeTensorInfo(attrs.filterShape, "float32", out);
  });
