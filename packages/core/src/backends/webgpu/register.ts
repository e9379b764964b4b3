/** Registers BirdVLM's WGSL kernels on TF.js's `webgpu` backend (once), under the names in `FusedKernelName`. */
import { tf } from "../../tf.js";
import type { Activation } from "../../ops/bias-activation.js";
import type { AttentionAttrs } from "../../ops/fused-attention.js";
import { FusedKernelName } from "../../ops/fused-kernel.js";
import { attentionProgram } from "./kernels/attention-program.js";
import { biasActivationProgram } from "./kernels/bias-activation-program.js";
import { normProgram } from "./kernels/norm-program.js";
import { swigluProgram } from "./kernels/swiglu-program.js";
import { chunkedAddN } from "./add-n.js";
import { deterministicScatterNd, deterministicUnsortedSegmentSum } from "./scatter-sum.js";
import { chooseMatMul, matMulDims } from "./matmul-choice.js";
import type { WebGPUBackendRunner } from "./kernels/program.js";

let registered = false;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function register(kernelName: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo): void {
  tf.registerKernel({ kernelName, backendName: "webgpu", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** Registers every fused kernel for the `webgpu` backend. The ops in `ops/` reach them by name. */
export function registerWebGPUKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of ["BatchMatMul", "_FusedMatMul"]) deterministicMatMul(name);
  wrap("AddN", chunkedAddN);
  wrap("ScatterNd", deterministicScatterNd);
  wrap("UnsortedSegmentSum", deterministicUnsortedSegmentSum);

  for (const [name, kind] of [
    [FusedKernelName.layerNorm, "layer"],
    [FusedKernelName.rmsNorm, "rms"],
  ] as const) {
    register(name, ({ inputs, backend, attrs }) => {
      const x = inputs.x as tf.TensorInfo;
      const [N, C] = x.shape;
      const params = kind === "layer" ? [x, inputs.gamma, inputs.beta] : [x, inputs.weight];
      return (backend as WebGPUBackendRunner).runWebGPUProgram(
        normProgram(kind, N, C),
        params as tf.TensorInfo[],
        "float32",
        [
          { type: "int32", data: [N] },
          { type: "int32", data: [C] },
          { type: "float32", data: [Number(attrs?.eps)] },
        ],
      );
    });
  }

  register(FusedKernelName.biasActivation, ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    const [N, C] = x.shape;
    const bias = inputs.bias as tf.TensorInfo | undefined;
    const program = biasActivationProgram(attrs?.activation as Activation, bias !== undefined, N, C);
    return (backend as WebGPUBackendRunner).runWebGPUProgram(program, bias ? [x, bias] : [x], "float32", [
      { type: "int32", data: [C] },
    ]);
  });

  register(FusedKernelName.swiglu, ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    const [N, width] = x.shape;
    return (backend as WebGPUBackendRunner).runWebGPUProgram(swigluProgram(N, width / 2), [x], "float32", [
      { type: "int32", data: [width / 2] },
    ]);
  });

  register(FusedKernelName.attention, ({ inputs, backend, attrs }) => {
    const { q, k, v } = inputs as Record<string, tf.TensorInfo>;
    const mask = inputs.mask as tf.TensorInfo | undefined;
    const a = attrs as unknown as AttentionAttrs;
    const [B, H, Tq, D] = q.shape;
    const [, Hkv, Tk] = k.shape;
    const program = attentionProgram(B, H, Tq, D, mask !== undefined);
    const int = (n: number) => ({ type: "int32" as const, data: [n] });
    return (backend as WebGPUBackendRunner).runWebGPUProgram(program, mask ? [q, k, v, mask] : [q, k, v], "float32", [
      int(B * H * Tq),
      int(H),
      int(Tq),
      int(Tk),
      int(H / Hkv),
      int(Hkv),
      { type: "float32", data: [a.scale] },
      int(a.offset),
      int(a.window),
      int(a.causal ? 1 : 0),
      ...broadcastStrides(mask?.shape ?? [1, 1, 1, 1]).map(int),
    ]);
  });
}

/** Replaces TF.js's webgpu kernel `name` by `wrapper(its kernel function)`. */
function wrap(
  name: string,
  wrapper: (original: (args: KernelArgs) => tf.TensorInfo) => (args: KernelArgs) => tf.TensorInfo,
): void {
  const original = tf.getKernel(name, "webgpu");
  if (!original) return;
  tf.unregisterKernel(name, "webgpu");
  register(name, wrapper(original.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo));
}

/**
 * Wraps TF.js's webgpu kernel `name` (a matmul) so that it runs the program `chooseMatMul` picks (the override
 * table, else TF.js's choice but never split-K; see matmul-choice.ts), through TF.js's flag
 * `WEBGPU_MATMUL_PROGRAM_TYPE`. Honors that flag when the user has set it.
 */
function deterministicMatMul(name: string): void {
  const original = tf.getKernel(name, "webgpu");
  if (!original) return;
  tf.unregisterKernel(name, "webgpu");
  register(name, (args) => {
    const env = tf.env();
    const flag = "WEBGPU_MATMUL_PROGRAM_TYPE";
    if (env.getNumber(flag) >= 0) return original.kernelFunc(args as never) as tf.TensorInfo;
    const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
    const transposeA = Boolean(args.attrs?.transposeA);
    const transposeB = Boolean(args.attrs?.transposeB);
    const [batch, M, N, K] = matMulDims(a.shape, b.shape, transposeA, transposeB);
    const backend = args.backend as { thresholdToIncreaseWorkgroups?: number; adapterInfo?: { isIntel(): boolean } };
    const thresholdFlag = env.getNumber("WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL");
    const threshold = thresholdFlag > 0 ? thresholdFlag : (backend.thresholdToIncreaseWorkgroups ?? 8);
    const pick = chooseMatMul({ batch, M, N, K, transposeA, transposeB }, threshold);
    // TF.js's packed program reads sequentially by threads where `adapterInfo.isIntel()`; an override can ask for either.
    const info = pick.sequentialAccess === undefined ? undefined : backend.adapterInfo;
    if (info)
      Object.defineProperty(info, "isIntel", {
        value: () => pick.sequentialAccess,
        configurable: true,
        writable: true,
      });
    env.set(flag, pick.program);
    try {
      return original.kernelFunc(args as never) as tf.TensorInfo;
    } finally {
      env.set(flag, -1);
      if (info) delete (info as { isIntel?: unknown }).isIntel; // back to the class's own method
    }
  });
}

/** Strides of a mask padded to rank 4, 0 along broadcast (size-1) axes. */
function broadcastStrides(shape: number[]): number[] {
  const full = [...Array(4 - shape.length).fill(1), ...shape];
  const strides = [0, 0, 0, 0];
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    strides[i] = full[i] === 1 ? 0 : s;
    s *= full[i];
  }
  return strides;
}
