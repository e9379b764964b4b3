// The native kernel of core's linearActivation op (`ops/bias-activation.ts`): one SGEMM whose epilogue adds the
// bias and applies the activation per block of rows, while they are in cache. For training (`keepProduct`) the
// epilogue also keeps the product before the bias, which the activation's gradient reads.
import type { tf } from "../../../tf.js";
import { UnaryOp } from "../addon.js";
import { f32, type KernelArgs, output, sizeOf } from "./util.js";
import type { NativeOnlyKernel } from "./native-only-kernel.js";

function need(args: KernelArgs, name: string, op: string): Float32Array {
  const v = f32(args.backend, args.inputs[name]);
  if (!v) throw new Error(`native ${op}: input '${name}' must be a float32 tensor`);
  return v;
}

const ACTIVATIONS: Record<string, number> = { gelu: UnaryOp.GeluErf, gelu_tanh: UnaryOp.GeluTanh, silu: UnaryOp.Silu };

/**
 * BirdVLMLinearActivation: act(x `[N, in]` · weight `[in, out]` + bias `[out]`), bias and activation in the SGEMM
 * epilogue; with `keepProduct` two outputs, that and the product x · weight.
 */
export const linearActivationKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMLinearActivation";
    const { x, weight, bias } = args.inputs;
    const { activation, keepProduct = false } = args.attrs as { activation: string; keepProduct?: boolean };
    const act = ACTIVATIONS[activation];
    if (act === undefined) throw new Error(`native ${op}: unknown activation '${activation}'`);
    const [n, k] = x.shape;
    const m = weight.shape[1];
    if (weight.shape[0] !== k)
      throw new Error(`native ${op}: x [${x.shape}] and weight [${weight.shape}] do not chain`);
    if (bias && sizeOf(bias.shape) !== m)
      throw new Error(`native ${op}: bias has ${sizeOf(bias.shape)} values, expected ${m}`);
    const out = output(args.backend, n * m);
    const product = keepProduct ? output(args.backend, n * m) : null;
    const one = new Int32Array(1);
    addon.matmul(
      need(args, "x", op),
      need(args, "weight", op),
      out,
      1,
      n,
      m,
      k,
      false,
      false,
      one,
      one,
      1,
      1,
      bias ? need(args, "bias", op) : null,
      act,
      0,
      product,
    );
    const y = args.backend.makeTensorInfo([n, m], "float32", out);
    return product ? [y, args.backend.makeTensorInfo([n, m], "float32", product)] : y;
  }) as unknown as tf.KernelFunc;
