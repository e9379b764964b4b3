// DepthwiseConv2dNative and its two gradients (NHWC, channel multiplier 1, no dilation) on the addon's
// channel-vectorized loops; other cases go to the cpu kernels.
import { type ConvAttrs, convInfo, dims } from "./conv2d.js";
import { f32, type NativeKernel, output, withFallback } from "./util.js";

/** DepthwiseConv2dNative: y [B, OH, OW, C] from x [B, H, W, C] and filter [KH, KW, C, 1]. */
export const depthwiseConv2d: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, filter } = args.inputs;
    const xv = f32(args.backend, x);
    const fv = f32(args.backend, filter);
    const c = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs, true);
    if (!xv || !fv || !c) return undefined;
    const out = output(args.backend, c.batchSize * c.outHeight * c.outWidth * c.outChannels);
    addon.depthwiseConv(xv, fv, out, dims(c));
    return args.backend.makeTensorInfo(c.outShape, "float32", out);
  });

/** DepthwiseConv2dNativeBackpropInput: dx [B, H, W, C] from dy and the filter. */
export const depthwiseConv2dBackpropInput: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { dy, filter } = args.inputs;
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    const dyv = f32(args.backend, dy);
    const fv = f32(args.backend, filter);
    const c = convInfo(attrs.inputShape, filter.shape, attrs, true);
    if (!dyv || !fv || !c) return undefined;
    const out = output(args.backend, c.batchSize * c.inHeight * c.inWidth * c.inChannels);
    addon.depthwiseConvGradInput(dyv, fv, out, dims(c));
    return args.backend.makeTensorInfo(attrs.inputShape, "float32", out);
  });

/** DepthwiseConv2dNativeBackpropFilter: dFilter [KH, KW, C, 1] from x and dy. */
export const depthwiseConv2dBackpropFilter: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { x, dy } = args.inputs;
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    const xv = f32(args.backend, x);
    const dyv = f32(args.backend, dy);
    const c = convInfo(x.shape, attrs.filterShape, attrs, true);
    if (!xv || !dyv || !c) return undefined;
    const out = output(args.backend, c.filterHeight * c.filterWidth * c.inChannels);
    addon.depthwiseConvGradFilter(xv, dyv, out, dims(c));
    return args.backend.makeTensorInfo(attrs.filterShape, "float32", out);
  });
