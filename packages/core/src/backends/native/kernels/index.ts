// The kernels the native backend replaces; every other kernel is the cpu backend's.
import { cast } from "./cast.js";
import { concat, pack } from "./concat.js";
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput } from "./conv2d.js";
import { depthwiseConv2d, depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput } from "./depthwise-conv2d.js";
import { batchMatMul, fusedMatMul } from "./matmul.js";
import { BINARY_KERNELS, UNARY_KERNELS, binaryKernel, leakyRelu, unaryKernel } from "./elementwise.js";
import { padV2 } from "./pad.js";
import { REDUCE_KERNELS, reduceKernel } from "./reduce.js";
import { slice, splitV, unpack } from "./slice.js";
import { softmax } from "./softmax.js";
import { transpose } from "./transpose.js";
import type { NativeKernel } from "./util.js";

/** TF.js kernel name -> native kernel factory. */
export const NATIVE_KERNELS: Record<string, NativeKernel> = {
  Cast: cast,
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
  Softmax: softmax,
  Conv2D: conv2d,
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: conv2dBackpropInput,
  DepthwiseConv2dNative: depthwiseConv2d,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dBackpropFilter,
  Transpose: transpose,
  Slice: slice,
  SplitV: splitV,
  Unpack: unpack,
  Concat: concat,
  Pack: pack,
  PadV2: padV2,
  LeakyRelu: leakyRelu,
  ...Object.fromEntries(Object.entries(UNARY_KERNELS).map(([name, op]) => [name, unaryKernel(op)])),
  ...Object.fromEntries(Object.entries(BINARY_KERNELS).map(([name, op]) => [name, binaryKernel(op)])),
  ...Object.fromEntries(Object.entries(REDUCE_KERNELS).map(([name, op]) => [name, reduceKernel(op)])),
};
