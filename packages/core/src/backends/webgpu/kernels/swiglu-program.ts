/** WGSL `up * silu(gate)` over `x [N, 2I]` (gate = first half of each row, up = second), one output per invocation. */
import { flatDispatch, type WebGPUProgramSpec } from "./program.js";

const WG = 64;

/** The program for `swiglu` on `x [N, 2I]`, giving `[N, I]`. */
export function swigluProgram(N: number, I: number): WebGPUProgramSpec {
  return {
    outputShape: [N, I],
    shaderKey: "birdvlm_swiglu",
    dispatchLayout: { x: [0, 1] },
    dispatch: flatDispatch(N * I, WG),
    variableNames: ["x"],
    uniforms: "I : i32,",
    size: true,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let row = index / uniforms.I;
          let c = index - row * uniforms.I;
          let gate = x[row * 2 * uniforms.I + c];
          let up = x[row * 2 * uniforms.I + uniforms.I + c];
          result[index] = up * gate / (1.0 + exp(-gate));
        }
      }
    `,
  };
}
