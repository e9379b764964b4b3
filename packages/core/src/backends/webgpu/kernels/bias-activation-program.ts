/** WGSL `act(x + bias)` over `x [N, C]`, one element per invocation. */
import type { Activation } from "../../../ops/bias-activation.js";
import { flatDispatch, type WebGPUProgramSpec } from "./program.js";

const WG = 64;

/** WGSL of each activation of `z` (erf as Abramowitz–Stegun 7.1.26, max error 1.5e-7, as TF.js's own Erf). */
const ACTIVATION_WGSL: Record<Activation, string> = {
  gelu: `
    let u = z * 0.7071067811865476;
    let t = 1.0 / (1.0 + 0.3275911 * abs(u));
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erfAbs = 1.0 - poly * exp(-u * u);
    return 0.5 * z * (1.0 + select(-erfAbs, erfAbs, u >= 0.0));`,
  gelu_tanh: `
    let inner = 0.7978845608028654 * (z + 0.044715 * z * z * z);
    let e = exp(-2.0 * abs(inner));
    let th = sign(inner) * (1.0 - e) / (1.0 + e);
    return 0.5 * z * (1.0 + th);`,
  silu: `
    return z / (1.0 + exp(-z));`,
};

/** The program for `biasActivation` on `x [N, C]` (inputs x and, with `hasBias`, bias `[C]`). */
export function biasActivationProgram(
  activation: Activation,
  hasBias: boolean,
  N: number,
  C: number,
): WebGPUProgramSpec {
  return {
    outputShape: [N, C],
    shaderKey: `birdvlm_bias_${activation}_${hasBias}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: flatDispatch(N * C, WG),
    variableNames: hasBias ? ["x", "bias"] : ["x"],
    uniforms: "C : i32,",
    size: true,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => `
      fn activation(z : f32) -> f32 {${ACTIVATION_WGSL[activation]}
      }

      fn main(index : i32) {
        if (index < uniforms.size) {
          let z = x[index]${hasBias ? " + bias[index % uniforms.C]" : ""};
          result[index] = activation(z);
        }
      }
    `,
  };
}
