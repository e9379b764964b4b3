/**
 * `AddN` within WebGPU's binding limit. TF.js 4.22's webgpu `AddN` binds every input as a storage buffer of
 * one shader; past the device's `maxStorageBuffersPerShaderStage` (8 by default, 16 on lavapipe, output
 * included) the pipeline is invalid and Dawn drops the whole command buffer it sits in, so the sum (and every
 * op encoded beside it) keeps whatever an earlier tensor left in the recycled buffers. `clipByGlobalNorm` and
 * `globalNorm` sum one square per parameter with `tf.addN`: that made a clipped training step differ from run to
 * run. This kernel adds the inputs in chunks that fit, feeding each partial sum into the next chunk as its
 * first input, so the additions happen in the same left-to-right order as one flat `AddN`.
 */
import type { tf } from "../../tf.js";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo;

/** The part of TF.js's WebGPU backend this kernel uses. */
interface AddNBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): void;
}

/**
 * Wraps TF.js's webgpu `AddN` kernel function: `inputs` (an array of same-shape tensors) summed left to right,
 * at most `maxStorageBuffersPerShaderStage - 1` of them per dispatched program.
 */
export function chunkedAddN(original: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as AddNBackend;
    const perProgram = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= perProgram) return original(args);
    const run = (part: tf.TensorInfo[]) => original({ ...args, inputs: part as unknown as tf.NamedTensorInfoMap });
    let sum = run(inputs.slice(0, perProgram));
    for (let i = perProgram; i < inputs.length; i += perProgram - 1) {
      const next = run([sum, ...inputs.slice(i, i + perProgram - 1)]);
      backend.disposeData(sum.dataId);
      sum = next;
    }
    return sum;
  };
}
