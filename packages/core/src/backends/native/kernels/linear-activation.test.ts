// The native BirdVLMLinearActivation kernel (SGEMM with bias and activation in its epilogue) against the cpu
// backend's composition; under a gradient tape the kernel also keeps the product for the backward, whose gradients
// must match the composition's too.
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { linearActivation, type Activation } from "../../../ops/bias-activation.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, valuesOn } from "../../../testing/backends.js";

function worst(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) m = Math.max(m, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  return Number.isNaN(m) ? Infinity : m;
}

describeEachBackend("native linearActivation kernel", ["native"], () => {
  const shapes: Array<[number, number, number]> = [
    [197, 192, 768],
    [1, 300, 77],
    [13, 5, 3],
    [64, 700, 96],
  ];
  // Shapes for each way the product splits (gelu only): a matrix-vector product cut along the depth; many rows in
  // several blocks a thread (the epilogue per block); few rows split by columns; a depth cut in slabs.
  const splits: Array<[number, number, number]> = [
    [1, 700, 96],
    [1600, 64, 40],
    [30, 1100, 1000],
    [24, 2500, 450],
  ];
  const cases: Array<[[number, number, number], Activation]> = [
    ...shapes.flatMap((s) => (["gelu", "gelu_tanh", "silu"] as const).map((a): [typeof s, Activation] => [s, a])),
    ...splits.map((s): [typeof s, Activation] => [s, "gelu"]),
  ];
  for (const [[n, k, m], activation] of cases) {
    it(`equals cpu for [${n}, ${k}] x [${k}, ${m}] with ${activation}, with and without bias; gradients too`, async () => {
      const run = () => {
        const x = seeded([n, k], 71, 2) as tf.Tensor2D;
        const w = seeded([k, m], 72, 0.2) as tf.Tensor2D;
        const b = seeded([m], 73);
        const g = seeded([n, m], 74);
        const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(linearActivation(xi as tf.Tensor2D, wi as tf.Tensor2D, bi, activation), g)),
        )([x, w, b]);
        return [linearActivation(x, w, b, activation), linearActivation(x, w, null, activation), ...grads];
      };
      const want = await valuesOn("cpu", run);
      const got = await valuesOn("native", run);
      for (let i = 0; i < want.length; i++)
        expect(worst(got[i]!.values, want[i]!.values), `output ${i}`).toBeLessThan(i < 2 ? 1e-5 : 3e-5);
    });
  }

  it("runs one kernel forward, keeping the product under a gradient tape, and leaks nothing", async () => {
    await tf.setBackend("native");
    const x = seeded([9, 8], 75) as tf.Tensor2D;
    const w = seeded([8, 4], 76) as tf.Tensor2D;
    const names: string[] = [];
    await tf
      .profile(() =>
        tf.tidy(() => {
          linearActivation(x, w, null, "gelu");
        }),
      )
      .then((p) => names.push(...p.kernels.map((k) => k.name)));
    expect(names).toEqual(["BirdVLMLinearActivation"]);
    // Under the tape: the same kernel with the product kept, then the activation's fused gradient and two products.
    const taped = await tf.profile(() =>
      tf.tidy(() => {
        tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(linearActivation(xi as tf.Tensor2D, wi as tf.Tensor2D, null, "gelu")),
        )([x, w]);
      }),
    );
    const kernels = taped.kernels.map((k) => k.name);
    expect(kernels).toContain("BirdVLMLinearActivation");
    expect(kernels).toContain("BirdVLMBiasActivationGrad");
    expect(kernels).not.toContain("BirdVLMBiasActivation");
    const step = () =>
      tf.tidy(() => {
        tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(linearActivation(xi as tf.Tensor2D, wi as tf.Tensor2D, null, "silu")),
        )([x, w]);
        linearActivation(x, w, null, "gelu");
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => linearActivation(x, tf.zeros([7, 4]) as tf.Tensor2D, null, "gelu")).toThrow(/must be \[N, in\]/);
    tf.dispose([x, w]);
  });
});
