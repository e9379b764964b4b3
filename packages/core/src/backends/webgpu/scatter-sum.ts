/**
 * BirdVLM's `ScatterNd` for the webgpu backend: float32 sums through the deterministic programs of
 * `kernels/scatter-sum-program.ts` instead of TF.js's float atomics (whose order, and so whose last bits, change
 * from run to run when rows repeat, as token ids do in an embedding gradient). Other dtypes, and slice indices
 * of rank above 4, go to TF.js's kernel (integer atomics are exact in any order).
 */
import { tf } from "../../tf.js";
import { MAX_SLICE_RANK, scatterLinksProgram, scatterSumProgram, zeroProgram } from "./kernels/scatter-sum-program.js";
import type { WebGPUBackendRunner } from "./kernels/program.js";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo;

interface ScatterBackend extends WebGPUBackendRunner {
  disposeData(dataId: object): void;
}

/**
 * Runs the three programs: `indices` (int32, `N·R` values) name the slices of `out` (`slices · S` values) that
 * the rows of `updates` (`N·S`, float32) add to.
 */
function scatterSum(
  backend: ScatterBackend,
  indices: tf.TensorInfo,
  updates: tf.TensorInfo,
  shape: number[],
  N: number,
  R: number,
  S: number,
  strides: number[],
): tf.TensorInfo {
  const int = (n: number) => ({ type: "int32" as const, data: [n] });
  const stride = Array.from({ length: MAX_SLICE_RANK }, (_, k) => int(strides[k] ?? 0));
  const slices = shape.reduce((a, b) => a * b, 1) / S;
  const links = backend.runWebGPUProgram(scatterLinksProgram(N, R), [indices], "int32", [
    int(N),
    int(slices),
    ...stride,
  ]);
  const zeros = backend.runWebGPUProgram(zeroProgram(shape), [], "float32");
  const out = backend.runWebGPUProgram(
    scatterSumProgram(shape, N, S, R),
    [links, updates, indices],
    "float32",
    [int(N), int(S), int(slices), ...stride],
    zeros,
  );
  backend.disposeData(links.dataId);
  return out;
}

/** Wraps TF.js's webgpu `ScatterNd` (`inputs` indices, updates; `attrs.shape`) with the deterministic sum. */
export function deterministicScatterNd(original: KernelFunc): KernelFunc {
  return (args) => {
    const { indices, updates } = args.inputs as Record<string, tf.TensorInfo>;
    const shape = args.attrs?.shape as number[];
    const R = indices.shape.length > 1 ? indices.shape[indices.shape.length - 1] : 1;
    const {
      numUpdates: N,
      sliceSize: S,
      strides,
      outputSize,
    } = tf.backend_util.calculateShapes(updates as tf.Tensor, indices as tf.Tensor, shape);
    if (updates.dtype !== "float32" || R > MAX_SLICE_RANK || N === 0 || outputSize === 0) return original(args);
    return scatterSum(args.backend as ScatterBackend, indices, updates, shape, N, R, S, strides);
  };
}

/**
 * Wraps TF.js's webgpu `UnsortedSegmentSum` (`inputs` x, segmentIds; `attrs.numSegments`; the gradient of
 * `tf.gather`) with the same deterministic sum: `[numSegments, ...x.shape after segmentIds' rank]`.
 */
export function deterministicUnsortedSegmentSum(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, segmentIds } = args.inputs as Record<string, tf.TensorInfo>;
    const numSegments = Number(args.attrs?.numSegments);
    const N = tf.util.sizeFromShape(segmentIds.shape);
    const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const S = tf.util.sizeFromShape(shape.slice(1));
    if (
      x.dtype !== "float32" ||
      segmentIds.dtype !== "int32" ||
      N === 0 ||
      numSegments * S === 0 ||
      N * S !== tf.util.sizeFromShape(x.shape)
    )
      return original(args);
    return scatterSum(args.backend as ScatterBackend, segmentIds, x, shape, N, 1, S, [1]);
  };
}
