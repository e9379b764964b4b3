// Unary and broadcasting binary float32 kernels on the addon (threaded, vectorized).
import { tf } from "../../../tf.js";
import { BinaryOp, UnaryOp, type NativeAddon } from "../addon.js";
import { broadcastStrides, f32, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

/** TF.js unary kernel name -> addon op. */
export const UNARY_KERNELS: Record<string, number> = {
  Exp: UnaryOp.Exp,
  Erf: UnaryOp.Erf,
  Tanh: UnaryOp.Tanh,
  Sigmoid: UnaryOp.Sigmoid,
  Relu: UnaryOp.Relu,
  Sqrt: UnaryOp.Sqrt,
  Rsqrt: UnaryOp.Rsqrt,
  Log: UnaryOp.Log,
  Neg: UnaryOp.Neg,
  Abs: UnaryOp.Abs,
  Square: UnaryOp.Square,
  Relu6: UnaryOp.Relu6,
  Elu: UnaryOp.Elu,
};

/** TF.js binary kernel name -> addon op. */
export const BINARY_KERNELS: Record<string, number> = {
  Add: BinaryOp.Add,
  Sub: BinaryOp.Sub,
  Multiply: BinaryOp.Mul,
  RealDiv: BinaryOp.Div,
  Maximum: BinaryOp.Max,
  Minimum: BinaryOp.Min,
  SquaredDifference: BinaryOp.SquaredDiff,
};

/** A unary kernel for addon op `op`. */
export function unaryKernel(op: number): NativeKernel {
  return (addon, cpu) =>
    withFallback(cpu, ({ inputs: { x }, backend }) => {
      const xv = f32(backend, x);
      if (!xv) return undefined;
      const out = output(backend, xv.length);
      addon.unary(op, xv, out);
      return backend.makeTensorInfo(x.shape, "float32", out);
    });
}

/** LeakyRelu. */
export const leakyRelu: NativeKernel = (addon, cpu) =>
  withFallback(cpu, ({ inputs: { x }, backend, attrs }) => {
    const xv = f32(backend, x);
    if (!xv) return undefined;
    const out = output(backend, xv.length);
    addon.leakyRelu(xv, out, (attrs as { alpha: number }).alpha);
    return backend.makeTensorInfo(x.shape, "float32", out);
  });

/**
 * The output shape and each input's strides over it, with size-1 dims dropped and dims merged where both
 * inputs are contiguous (or both broadcast) across them.
 */
export function binaryPlan(
  aShape: number[],
  bShape: number[],
): { out: number[]; shape: number[]; sa: number[]; sb: number[] } {
  const out = tf.broadcast_util.assertAndGetBroadcastShape(aShape, bShape);
  const rank = out.length;
  const fa = broadcastStrides(aShape, rank);
  const fb = broadcastStrides(bShape, rank);
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (out[d] === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && sa[last] === fa[d] * out[d] && sb[last] === fb[d] * out[d]) {
      shape[last] *= out[d];
      sa[last] = fa[d];
      sb[last] = fb[d];
    } else {
      shape.push(out[d]);
      sa.push(fa[d]);
      sb.push(fb[d]);
    }
  }
  if (shape.length === 0) return { out, shape: [1], sa: [0], sb: [0] };
  return { out, shape, sa, sb };
}

/** A broadcasting binary kernel for addon op `op`. */
export function binaryKernel(op: number): NativeKernel {
  return (addon, cpu) =>
    withFallback(cpu, ({ inputs: { a, b }, backend }) => {
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!av || !bv) return undefined;
      const plan = binaryPlan(a.shape, b.shape);
      if (plan.shape.length > 8) return undefined;
      const out = output(backend, sizeOf(plan.out));
      if (out.length > 0) addon.binary(op, av, bv, out, plan.shape, plan.sa, plan.sb);
      return backend.makeTensorInfo(plan.out, "float32", out);
    });
}
