// The launch queue: kernels that return before they ran give the values of kernels that were waited for, a tensor
// disposed while its kernel is queued is neither freed nor reused too early, and JavaScript reads wait.
import { expect, it } from "vitest";
import { tf } from "../../tf.js";
import { seeded } from "../../testing/tensors.js";
import { describeEachBackend } from "../../testing/backends.js";
import { loadAddon, UnaryOp } from "./addon.js";
import { LaunchQueue } from "./launch-queue.js";
import type { NativeBackend } from "./native-backend-class.js";

/** A chain of queued kernels whose inputs are disposed as soon as each kernel is launched (their buffers recycled). */
function chain(steps: number): tf.Tensor {
  let x = seeded([96, 64], 1);
  const w = seeded([64, 64], 2);
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const h = tf.matMul(x, w);
      const s = tf.softmax(tf.add(h, tf.slice(h, [0, 0], [96, 64])));
      return tf.concat([tf.slice(s, [0, 0], [96, 32]), tf.mul(tf.slice(s, [0, 32], [96, 32]), 3)], 1);
    });
    x.dispose(); // its buffer goes back to the pool while the kernels above may not have run yet
    x = next;
  }
  w.dispose();
  return x;
}

describeEachBackend("native launch queue", ["native"], () => {
  it("queued kernels give, bit for bit, what kernels waited for one by one give; tensors do not leak", async () => {
    const addon = loadAddon();
    expect(addon.info().async).toBe(true); // the default
    const before = tf.memory().numTensors;
    const queued = chain(40);
    const got = await queued.data();
    expect(addon.setAsync(false)).toBe(true);
    const waited = chain(40);
    const want = await waited.data();
    expect(addon.setAsync(true)).toBe(false);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(want.some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
    tf.dispose([queued, waited]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("keeps a queued kernel's arrays until it ran, lets go of them after, and waits on synchronize", () => {
    const { addon, queue } = LaunchQueue.wrap(loadAddon());
    const n = 1 << 16;
    const outs: Float32Array[] = [];
    for (let i = 0; i < 600; i++) {
      const x = new Float32Array(n).fill(i % 7); // referenced by nothing but the queue once the loop moves on
      const out = new Float32Array(n);
      addon.unary(UnaryOp.Square, x, out);
      outs.push(out);
      if (i === 300) loadAddon().synchronize(); // the module's own wait: the queue still holds the arrays
    }
    expect(queue.pending).toBeLessThan(600); // let go of at the next look (launch 512) at what has run
    queue.synchronize();
    expect(queue.pending).toBe(0);
    outs.forEach((out, i) => {
      expect(out[0]).toBe((i % 7) ** 2);
      expect(out[n - 1]).toBe((i % 7) ** 2);
    });
  });

  it("tf.time and tf.profile wait for the kernels they time", async () => {
    const backend = tf.backend() as NativeBackend;
    const [a, b] = [seeded([256, 256], 5), seeded([256, 256], 6)];
    const queued = tf.matMul(a, b);
    expect(backend.queuedLaunches).toBeGreaterThan(0); // a launch returns before its kernel ran
    await tf.time(() => tf.matMul(a, b).dispose());
    expect(backend.queuedLaunches).toBe(0);
    const profile = await tf.profile(() => tf.matMul(a, b));
    expect(backend.queuedLaunches).toBe(0);
    expect(profile.kernels.map((k) => k.name)).toEqual(["BatchMatMul"]);
    tf.dispose([a, b, queued, profile.result as tf.Tensor]);
  });

  it("a cpu kernel after queued ones reads their results (it waits), and so does a copy in JavaScript", () => {
    const x = seeded([64, 48], 3);
    const y = tf.tidy(() => tf.matMul(x, x, false, true)); // queued
    const top = tf.topk(tf.reshape(y, [-1]), 3); // the cpu backend's TopK reads y's values
    const want = Array.from(y.dataSync())
      .sort((a, b) => b - a)
      .slice(0, 3);
    expect(Array.from(top.values.dataSync())).toEqual(want);
    const padded = tf.pad(y, [
      [1, 0],
      [0, 0],
    ]); // the native PadV2 copies in JavaScript
    expect(Array.from(padded.dataSync().subarray(64, 128))).toEqual(Array.from(y.dataSync().subarray(0, 64)));
    tf.dispose([x, y, top.values, top.indices, padded]);
  });
});
