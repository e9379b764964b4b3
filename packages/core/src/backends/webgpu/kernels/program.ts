/**
 * The shape of a TF.js WebGPU program (`WebGPUProgram` of @tensorflow/tfjs-backend-webgpu 4.22), and the part
 * of its backend that runs one. TF.js wraps `getUserCode()` with the bindings (`result`, one array per name in
 * `variableNames`, `uniforms`) and calls `main(index)` for a flat dispatch.
 */
import type { tf } from "../../../tf.js";

/** A WGSL program TF.js's WebGPU backend can compile and dispatch. */
export interface WebGPUProgramSpec {
  outputShape: number[];
  /** Names the compiled pipeline; TF.js appends input ranks and dtypes. Must encode every code-shaping constant. */
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  /** Extra uniform fields, WGSL struct syntax, e.g. `C : i32, eps : f32,`. */
  uniforms?: string;
  workgroupSize: [number, number, number];
  /** Adds `uniforms.size` (the output size). */
  size?: boolean;
  getUserCode(): string;
}

/** Values of the extra uniforms, in the order of `uniforms`. */
export type ProgramUniforms = Array<{ type: "int32" | "float32"; data: number[] }>;

/** The method of TF.js's `WebGPUBackend` that runs a program. */
export interface WebGPUBackendRunner {
  runWebGPUProgram(
    program: WebGPUProgramSpec,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniforms,
    /** Writes into this tensor instead of a new one. */
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
}

/** Workgroups needed for `n` items at `perGroup` per workgroup, as a 1-D dispatch (TF.js folds it when large). */
export function flatDispatch(n: number, perGroup: number): [number, number, number] {
  return [Math.max(1, Math.ceil(n / perGroup)), 1, 1];
}

/** WGSL: the linear index of this workgroup over a dispatch TF.js may have folded into 2-D or 3-D. */
export const WORKGROUP_INDEX =
  "i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x)";
