/** Test helpers of the ops: deterministic inputs and the largest absolute difference. */
import { tf } from "../tf.js";

/** A float32 tensor of the given shape with values from a fixed sequence (no RNG state involved). */
export function seeded(shape: number[], seed: number, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return tf.tensor(values, shape);
}

/** max |a - b| over all elements, read back to the host. */
export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expectSameShape(a, b);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return Number.isNaN(m) ? Infinity : m;
}

function expectSameShape(a: tf.Tensor, b: tf.Tensor): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
}
