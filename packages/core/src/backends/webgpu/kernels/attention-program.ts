/**
 * WGSL fused attention: one workgroup per query row `(b, h, i)`. The row of q sits in shared memory; keys are
 * visited in chunks of 1024 (16 per invocation: score, scale, mask; probabilities in shared memory), with an online softmax (running max and
 * sum) rescaling the output accumulator, so the `[Tq, Tk]` scores never exist in memory. Each invocation then
 * accumulates `ceil(D / 64)` output dims over the chunk's values.
 */
import { MASKED_SCORE } from "../../../ops/fused-attention.js";
import { flatDispatch, WORKGROUP_INDEX, type WebGPUProgramSpec } from "./program.js";

const WG = 64;
/** Keys whose probabilities sit in shared memory at once (4 KiB); longer rows take several online-softmax chunks. */
const CHUNK = 1024;

/** The program for `q [B, H, Tq, D]`, `k`/`v` `[B, Hkv, Tk, D]` and, with `hasMask`, an additive mask input. */
export function attentionProgram(B: number, H: number, Tq: number, D: number, hasMask: boolean): WebGPUProgramSpec {
  const perThread = Math.ceil(D / WG);
  return {
    outputShape: [B, H, Tq, D],
    shaderKey: `birdvlm_attention_${D}_${hasMask}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: flatDispatch(B * H * Tq, 1),
    variableNames: hasMask ? ["q", "k", "v", "mask"] : ["q", "k", "v"],
    uniforms:
      "rows : i32, heads : i32, tq : i32, tk : i32, group : i32, kvHeads : i32, scale : f32, offset : i32, " +
      "window : i32, causal : i32, ms0 : i32, ms1 : i32, ms2 : i32, ms3 : i32,",
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      const D = ${D};
      var<workgroup> qRow : array<f32, ${D}>;
      var<workgroup> scratch : array<f32, ${WG}>;
      var<workgroup> probs : array<f32, ${CHUNK}>;

      fn reduceMax(value : f32, tid : i32) -> f32 {
        scratch[tid] = value;
        workgroupBarrier();
        for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { scratch[tid] = max(scratch[tid], scratch[tid + stride]); }
          workgroupBarrier();
        }
        let m = scratch[0];
        workgroupBarrier();
        return m;
      }

      fn reduceSum(value : f32, tid : i32) -> f32 {
        scratch[tid] = value;
        workgroupBarrier();
        for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { scratch[tid] = scratch[tid] + scratch[tid + stride]; }
          workgroupBarrier();
        }
        let s = scratch[0];
        workgroupBarrier();
        return s;
      }

      fn main(index : i32) {
        let row = ${WORKGROUP_INDEX};
        let tid = i32(localId.x);
        let inRange = row < uniforms.rows;
        let Tq = uniforms.tq;
        let Tk = uniforms.tk;
        let i = row % Tq;
        let bh = row / Tq;
        let h = bh % uniforms.heads;
        let b = bh / uniforms.heads;
        let kvBase = (b * uniforms.kvHeads + h / uniforms.group) * Tk * D;
        if (inRange) { for (var d = tid; d < D; d = d + ${WG}) { qRow[d] = q[row * D + d]; } }
        workgroupBarrier();

        let position = i + uniforms.offset;
        var runningMax = -3.0e38;
        var runningSum = 0.0;
        var acc : array<f32, ${perThread}>;
        for (var r = 0; r < ${perThread}; r = r + 1) { acc[r] = 0.0; }

        let chunks = (Tk + ${CHUNK - 1}) / ${CHUNK};
        for (var c = 0; c < chunks; c = c + 1) {
          let first = c * ${CHUNK};
          var localMax = -3.0e38;
          for (var r = 0; r < ${CHUNK / WG}; r = r + 1) {
            let slot = r * ${WG} + tid;
            let j = first + slot;
            var score = -3.0e38;
            if (inRange && j < Tk) {
              var dot = 0.0;
              let kRow = kvBase + j * D;
              for (var d = 0; d < D; d = d + 1) { dot = dot + qRow[d] * k[kRow + d]; }
              score = dot * uniforms.scale;
              ${hasMask ? "score = score + mask[b * uniforms.ms0 + h * uniforms.ms1 + i * uniforms.ms2 + j * uniforms.ms3];" : ""}
              if ((uniforms.causal != 0 && j > position) || (uniforms.window > 0 && position - j >= uniforms.window)) {
                score = score - ${(-MASKED_SCORE).toExponential()};
              }
              localMax = max(localMax, score);
            }
            probs[slot] = score;
          }
          let newMax = max(runningMax, reduceMax(localMax, tid));
          var localSum = 0.0;
          for (var r = 0; r < ${CHUNK / WG}; r = r + 1) {
            let slot = r * ${WG} + tid;
            let p = select(0.0, exp(probs[slot] - newMax), inRange && first + slot < Tk);
            probs[slot] = p;
            localSum = localSum + p;
          }
          let rescale = exp(runningMax - newMax);
          runningSum = runningSum * rescale + reduceSum(localSum, tid);
          runningMax = newMax;
          if (inRange) {
            let count = min(${CHUNK}, Tk - first);
            for (var r = 0; r < ${perThread}; r = r + 1) {
              let d = tid + r * ${WG};
              if (d < D) {
                var a = acc[r] * rescale;
                let vBase = kvBase + first * D + d;
                for (var t = 0; t < count; t = t + 1) { a = a + probs[t] * v[vBase + t * D]; }
                acc[r] = a;
              }
            }
          }
          workgroupBarrier();
        }
        if (inRange) {
          for (var r = 0; r < ${perThread}; r = r + 1) {
            let d = tid + r * ${WG};
            if (d < D) { result[row * D + d] = acc[r] / runningSum; }
          }
        }
      }
    `,
  };
}
