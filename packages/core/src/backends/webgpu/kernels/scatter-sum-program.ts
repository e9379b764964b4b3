/**
 * A deterministic scatter-add in WGSL, for `scatterND` (e.g. the gradient of an embedding lookup) whose TF.js
 * kernel adds duplicate rows with float atomics in whatever order the GPU runs them. Three programs over
 * `indices [N, R]` (int32, row i names the output slice `Σ_k indices[i, k] · stride_k`) and `updates [N, S]`:
 * `zeroProgram` clears the output; `scatterLinksProgram` gives, per row, the next row with the same slice and
 * whether the row is its slice's first; `scatterSumProgram` lets each first row walk its chain and write the
 * slice's sum, adding the rows in index order: the same bits on every run.
 */
import { flatDispatch, type WebGPUProgramSpec } from "./program.js";

const WG = 64;
/** Most index components (the rank R of a slice index) the programs take. */
export const MAX_SLICE_RANK = 4;

/** WGSL: the flat slice index of update row `i`, from `indices` and the uniforms `s0..s3`. */
function sliceOf(R: number): string {
  const terms = Array.from({ length: R }, (_, k) => `indices[i * ${R} + ${k}] * uniforms.s${k}`);
  return `fn sliceOf(i : i32) -> i32 { return ${terms.join(" + ")}; }`;
}

const STRIDES = "s0 : i32, s1 : i32, s2 : i32, s3 : i32,";

/** Fills an output of `shape` with zeros. */
export function zeroProgram(shape: number[]): WebGPUProgramSpec {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    outputShape: shape,
    shaderKey: "birdvlm_zero",
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: flatDispatch(size, WG),
    variableNames: [],
    size: true,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) { result[index] = 0.0; }
      }
    `,
  };
}

/**
 * `[2N]` int32: `[0, N)` the next row after i with i's slice (N when none), `[N, 2N)` 1 where i is the first
 * row of its slice and the slice lies in `[0, slices)`, else 0. Uniforms: N, slices, s0..s3.
 */
export function scatterLinksProgram(N: number, R: number): WebGPUProgramSpec {
  return {
    outputShape: [2 * N],
    shaderKey: `birdvlm_scatter_links_${R}`,
    dispatchLayout: { x: [0] },
    dispatch: flatDispatch(N, WG),
    variableNames: ["indices"],
    uniforms: `n : i32, slices : i32, ${STRIDES}`,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      ${sliceOf(R)}

      fn main(index : i32) {
        let n = uniforms.n;
        if (index >= n) { return; }
        let slice = sliceOf(index);
        var first = select(0, 1, slice >= 0 && slice < uniforms.slices);
        var next = n;
        for (var j = 0; j < n; j = j + 1) {
          if (j != index && sliceOf(j) == slice) {
            if (j < index) { first = 0; } else { next = j; break; }
          }
        }
        result[index] = next;
        result[n + index] = first;
      }
    `,
  };
}

/**
 * Writes, into the zeroed output `[slices, S]` (any shape of that size), the sum of each slice's update rows in
 * row order. Inputs: the links of {@link scatterLinksProgram}, `updates [N, S]`, `indices`. Uniforms: N, S,
 * slices, s0..s3.
 */
export function scatterSumProgram(outputShape: number[], N: number, S: number, R: number): WebGPUProgramSpec {
  return {
    outputShape,
    shaderKey: `birdvlm_scatter_sum_${R}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: flatDispatch(N * S, WG),
    variableNames: ["links", "updates", "indices"],
    uniforms: `n : i32, width : i32, slices : i32, ${STRIDES}`,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      ${sliceOf(R)}

      fn main(index : i32) {
        let n = uniforms.n;
        let S = uniforms.width;
        if (index >= n * S) { return; }
        let i = index / S;
        let d = index - i * S;
        if (links[n + i] == 0) { return; }
        var sum = 0.0;
        var j = i;
        loop {
          sum = sum + updates[j * S + d];
          j = links[j];
          if (j >= n) { break; }
        }
        result[sliceOf(i) * S + d] = sum;
      }
    `,
  };
}
