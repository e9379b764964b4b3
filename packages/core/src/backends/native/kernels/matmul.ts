// BatchMatMul and _FusedMatMul on the addon's SGEMM: every transpose layout, broadcast batch dims, and the
// bias + activation epilogue fused in place.
import { tf } from "../../../tf.js";
import { UnaryOp, type NativeAddon } from "../addon.js";
import { broadcastStrides, f32, type KernelArgs, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

type TensorInfo = tf.TensorInfo;

/** For each output batch, the batch of A and of B it reads (NumPy broadcasting of the leading dims). */
function batchIndices(outer: number[], outerA: number[], outerB: number[]): [Int32Array, Int32Array] {
  const batch = sizeOf(outer);
  const ia = new Int32Array(batch);
  const ib = new Int32Array(batch);
  const sa = broadcastStrides(outerA, outer.length);
  const sb = broadcastStrides(outerB, outer.length);
  for (let i = 0; i < batch; i++) {
    let rem = i;
    let oa = 0;
    let ob = 0;
    for (let d = outer.length - 1; d >= 0; d--) {
      const idx = rem % outer[d];
      rem = Math.floor(rem / outer[d]);
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    ia[i] = oa;
    ib[i] = ob;
  }
  return [ia, ib];
}

/** Bias and activation applied by the addon to each tile of the product. */
interface Epilogue {
  bias: Float32Array | null;
  act: number;
  alpha: number;
}

/** The product of `a` and `b` as a new float32 tensor, or undefined when they are not plain float32. */
function nativeMatMul(addon: NativeAddon, args: KernelArgs, epilogue?: Epilogue): TensorInfo | undefined {
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const av = f32(args.backend, a);
  const bv = f32(args.backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
        `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const [ia, ib] = batchIndices(outer, outerA, outerB);
  const out = output(args.backend, sizeOf(outer) * m * n);
  addon.matmul(
    av,
    bv,
    out,
    ia.length,
    m,
    n,
    k,
    transposeA,
    transposeB,
    ia,
    ib,
    sizeOf(outerA),
    sizeOf(outerB),
    epilogue?.bias ?? null,
    epilogue?.act ?? -1,
    epilogue?.alpha ?? 0,
  );
  return args.backend.makeTensorInfo([...outer, m, n], "float32", out);
}

/** BatchMatMul. */
export const batchMatMul: NativeKernel = (addon, cpu) => withFallback(cpu, (args) => nativeMatMul(addon, args));

const FUSED_ACTIVATIONS: Record<string, number> = {
  linear: -1,
  relu: UnaryOp.Relu,
  relu6: UnaryOp.Relu6,
  elu: UnaryOp.Elu,
  sigmoid: UnaryOp.Sigmoid,
  leakyrelu: -2,
};

function runNative(
  name: string,
  args: KernelArgs,
  inputs: Record<string, TensorInfo>,
  attrs?: tf.NamedAttrMap,
): TensorInfo {
  const kernel = tf.getKernel(name, "native") ?? tf.getKernel(name, "cpu");
  if (!kernel) throw new Error(`native backend: no ${name} kernel`);
  return kernel.kernelFunc({ inputs, backend: args.backend, attrs }) as TensorInfo;
}

/** _FusedMatMul: product, then bias, then activation (one in-place pass when the bias is a row vector). */
export const fusedMatMul: NativeKernel = (addon, cpu) =>
  withFallback(cpu, (args) => {
    const { bias, preluActivationWeights } = args.inputs;
    const { activation, leakyreluAlpha } = args.attrs as { activation: string; leakyreluAlpha?: number };
    const act = FUSED_ACTIVATIONS[activation];
    if (act === undefined && activation !== "prelu")
      throw new Error(`native _FusedMatMul: unknown activation '${activation}'`);
    // Bias and activation in the product's epilogue when the bias is a row vector (or absent).
    const n = (args.attrs as { transposeB: boolean }).transposeB
      ? args.inputs.b.shape[args.inputs.b.shape.length - 2]
      : args.inputs.b.shape[args.inputs.b.shape.length - 1];
    const biasValues = f32(args.backend, bias);
    const biasFusable =
      bias !== undefined &&
      biasValues !== undefined &&
      (sizeOf(bias.shape) === n || sizeOf(bias.shape) === 1) &&
      bias.shape.length <= Math.max(args.inputs.a.shape.length, args.inputs.b.shape.length) &&
      bias.shape.slice(0, -1).every((d) => d === 1);
    const fuseAct = act !== undefined && (bias === undefined || biasFusable);
    let out = nativeMatMul(addon, args, {
      bias: biasFusable ? biasValues! : null,
      act: fuseAct ? act! : -1,
      alpha: leakyreluAlpha ?? 0.2,
    });
    if (!out) return undefined;
    if (bias && !biasFusable) {
      const withBias = runNative("Add", args, { a: out, b: bias });
      args.backend.disposeIntermediateTensorInfo(out);
      out = withBias;
      if (act !== undefined && act !== -1) {
        const values = f32(args.backend, out);
        if (!values) throw new Error("native _FusedMatMul: the product with bias is not float32");
        const cols = out.shape[out.shape.length - 1];
        addon.biasActivation(values, sizeOf(out.shape) / Math.max(cols, 1), cols, null, act, leakyreluAlpha ?? 0.2);
      }
    }
    if (activation !== "prelu") return out;
    const activated = runNative("Prelu", args, { x: out, alpha: preluActivationWeights! });
    args.backend.disposeIntermediateTensorInfo(out);
    return activated;
  });
