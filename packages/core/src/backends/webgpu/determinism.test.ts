// Training on webgpu repeats bit for bit: the kernels that used to differ from run to run (an AddN over more
// inputs than a shader binds, dropped by Dawn; scatter-adds with float atomics) against host sums, and two
// identical training runs of a small model. The training test runs on every backend; the kernel ones on webgpu.
import { describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { seeded } from "../../testing/tensors.js";
import { describeEachBackend } from "../../testing/backends.js";
import { tinyTrainer } from "../../testing/tiny-trainer.js";
import { webgpuErrors } from "./use-webgpu.js";

async function bytes(t: tf.Tensor): Promise<number[]> {
  return Array.from(new Uint32Array((await t.data()).buffer));
}

describe("training repeats bit for bit", () => {
  it("two identical runs (AdamW, clipped gradients, embedding, attention, norms) end with the same bits", async () => {
    const params: number[][][] = [];
    for (let run = 0; run < 2; run++) {
      const { model, trainer } = tinyTrainer(3);
      const result = await trainer.fit();
      expect(result.skippedSteps).toBe(0);
      params.push(await Promise.all(model.trainableParameters().map(([, v]) => bytes(v))));
      trainer.dispose();
      model.dispose();
    }
    expect(params[0]!.length).toBe(22);
    if (tf.getBackend() === "webgpu") expect(webgpuErrors()).toEqual({ count: 0 }); // no command buffer dropped
    params[0]!.forEach((p, i) => expect(params[1]![i], `parameter ${i}`).toEqual(p));
  });
});

describeEachBackend("kernels that sum many things, on webgpu", ["webgpu"], () => {
  it("addN of 40 tensors (more than a shader binds) equals the host's left-to-right float32 sum", async () => {
    const xs = Array.from({ length: 40 }, (_, i) => seeded([3, 5], 100 + i, 10));
    const host = new Float32Array(15);
    for (const x of xs) {
      const v = await x.data();
      for (let j = 0; j < 15; j++) host[j] = Math.fround(host[j]! + v[j]!);
    }
    const errorsBefore = webgpuErrors().count;
    const sum = tf.addN(xs);
    expect(Array.from(await sum.data())).toEqual(Array.from(host));
    expect(webgpuErrors().count).toBe(errorsBefore);
    tf.dispose([...xs, sum]);
  });

  it("scatterND and unsortedSegmentSum add repeated rows in index order, the same bits every run", async () => {
    const [N, D, V] = [2048, 256, 8]; // enough rows per slice for TF.js's atomics to race on lavapipe
    const ids = Array.from({ length: N }, (_, i) => (i * 7) % V);
    const updates = seeded([N, D], 7, 3);
    const u = await updates.data();
    const host = new Float32Array(V * D);
    for (let i = 0; i < N; i++)
      for (let d = 0; d < D; d++) host[ids[i]! * D + d] = Math.fround(host[ids[i]! * D + d]! + u[i * D + d]!);
    const indices = tf.tensor2d(ids, [N, 1], "int32");
    const segments = tf.tensor1d(ids, "int32");
    for (let run = 0; run < 3; run++) {
      const a = tf.scatterND(indices, updates, [V, D]);
      const b = tf.unsortedSegmentSum(updates, segments, V);
      expect(Array.from(await a.data())).toEqual(Array.from(host));
      expect(Array.from(await b.data())).toEqual(Array.from(host));
      tf.dispose([a, b]);
    }
    // Multi-component indices into a [3, 2, 2] output, and a row index out of range (ignored).
    const i3 = tf.tensor2d(
      [
        [0, 1],
        [2, 0],
        [0, 1],
        [1, 1],
      ],
      [4, 2],
      "int32",
    );
    const u3 = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const s3 = tf.scatterND(i3, u3, [3, 2, 2]);
    expect(await s3.array()).toEqual([
      [
        [0, 0],
        [6, 8],
      ],
      [
        [0, 0],
        [7, 8],
      ],
      [
        [3, 4],
        [0, 0],
      ],
    ]);
    tf.dispose([indices, segments, updates, i3, u3, s3]);
  });
});
