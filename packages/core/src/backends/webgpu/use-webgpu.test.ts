import { expect, it } from "vitest";
import { tf } from "../../tf.js";
import { useWebGPU } from "./use-webgpu.js";
import { describeEachBackend } from "../../testing/backends.js";

describeEachBackend("useWebGPU", ["webgpu"], () => {
  it("reports the adapter", async () => {
    const info = await useWebGPU();
    expect(info.name).toBe("webgpu");
    expect(tf.getBackend()).toBe("webgpu");
    expect(Object.keys(info.details ?? {})).toEqual(["vendor", "architecture", "device", "description", "software"]);
    expect(info.details?.description).not.toBe("");
  });

  it("with requireHardware, rejects a software adapter and accepts a GPU", async () => {
    const info = await useWebGPU();
    if (info.details?.software === "true") {
      await expect(useWebGPU({ requireHardware: true })).rejects.toThrow(/software rasterizer|no GPU device/);
    } else {
      await expect(useWebGPU({ requireHardware: true })).resolves.toEqual(info);
    }
    expect(tf.getBackend()).toBe("webgpu");
  });

  it("computes a matmul and its gradient (gradients are registered for webgpu kernels)", async () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, -1, 0.5, 2, -2, 1], [3, 2]);
    expect(Array.from(await tf.matMul(a, b).data())).toEqual([-4, 6, -5.5, 12]);
    // d/da sum(softmax(a b) * w): compare with the same computed by hand on the host.
    const w = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.matMul(x, b)), w)))(a);
    const s = [
      [-4, 6],
      [-5.5, 12],
    ].map((row) => {
      const e = row.map((v) => Math.exp(v - Math.max(...row)));
      const z = e[0] + e[1];
      return e.map((v) => v / z);
    });
    const W = [
      [1, 2],
      [3, 4],
    ];
    const B = [
      [1, -1],
      [0.5, 2],
      [-2, 1],
    ];
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) {
      const dot = s[i][0] * W[i][0] + s[i][1] * W[i][1];
      const dz = s[i].map((p, j) => p * (W[i][j] - dot));
      for (let k = 0; k < 3; k++) expected.push(dz[0] * B[k][0] + dz[1] * B[k][1]);
    }
    const got = Array.from(await g.data());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    tf.dispose([a, b, w, g]);
  });
});

describeEachBackend("dataSync on webgpu in Node", ["webgpu"], () => {
  it("reads GPU results synchronously (TF.js's OffscreenCanvas path does not exist in Node)", async () => {
    await useWebGPU();
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = tf.mul(tf.add(x, 1), 2); // computed on the GPU, values not on the host
    expect(Array.from(y.dataSync())).toEqual([4, 6, 8, 10]);
    expect(tf.matMul(tf.ones([3, 5]), tf.ones([5, 2])).arraySync()).toEqual([
      [5, 5],
      [5, 5],
      [5, 5],
    ]);
    expect(Array.from(tf.cast(tf.greater(x, 2), "int32").dataSync())).toEqual([0, 0, 1, 1]);
    tf.dispose([x, y]);
  });
});
