/** WGSL LayerNorm / RMSNorm: one workgroup per row of `x [N, C]`, two-pass mean and variance in shared memory. */
import { flatDispatch, WORKGROUP_INDEX, type WebGPUProgramSpec } from "./program.js";

const WG = 64;

/** The program for `layerNorm` (inputs x, gamma, beta) or `rmsNorm` (inputs x, weight) over rows `[N, C]`. */
export function normProgram(kind: "layer" | "rms", N: number, C: number): WebGPUProgramSpec {
  const layer = kind === "layer";
  return {
    outputShape: [N, C],
    shaderKey: `birdvlm_${kind}norm_${WG}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: flatDispatch(N, 1),
    variableNames: layer ? ["x", "gamma", "beta"] : ["x", "weight"],
    uniforms: "rows : i32, C : i32, eps : f32,",
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${WG}>;

      fn reduceSum(value : f32, tid : i32) -> f32 {
        partial[tid] = value;
        workgroupBarrier();
        for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { partial[tid] = partial[tid] + partial[tid + stride]; }
          workgroupBarrier();
        }
        let total = partial[0];
        workgroupBarrier();
        return total;
      }

      fn main(index : i32) {
        let row = ${WORKGROUP_INDEX};
        let tid = i32(localId.x);
        let C = uniforms.C;
        let inRange = row < uniforms.rows;
        let base = row * C;
        ${
          layer
            ? `var s = 0.0;
        if (inRange) { for (var c = tid; c < C; c = c + ${WG}) { s = s + x[base + c]; } }
        let mean = reduceSum(s, tid) / f32(C);`
            : `let mean = 0.0;`
        }
        var sq = 0.0;
        if (inRange) { for (var c = tid; c < C; c = c + ${WG}) { let d = x[base + c] - mean; sq = sq + d * d; } }
        let rstd = inverseSqrt(reduceSum(sq, tid) / f32(C) + uniforms.eps);
        if (inRange) {
          for (var c = tid; c < C; c = c + ${WG}) {
            ${layer ? "result[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];" : "result[base + c] = x[base + c] * rstd * weight[c];"}
          }
        }
      }
    `,
  };
}
