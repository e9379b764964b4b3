import { describe, expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { layerNorm } from "../../../ops/layer-norm.js";
import { describeEachBackend, hasBackend, valuesOn } from "../../../testing/backends.js";

const DTYPES = ["float32", "int32", "bool", "complex64"] as const;
type Dtype = (typeof DTYPES)[number];

/** The same small tensor of each dtype: negatives, fractions and zeros where the dtype has them. */
function sample(dtype: Dtype): tf.Tensor {
  const f = [-2.75, -1, 0, 0.5, 1, 3.5];
  switch (dtype) {
    case "float32":
      return tf.tensor(f, [2, 3], "float32");
    case "int32":
      return tf.tensor([-3, -1, 0, 0, 1, 4], [2, 3], "int32");
    case "bool":
      return tf.tensor([1, 0, 1, 1, 0, 0], [2, 3], "bool");
    case "complex64":
      return tf.tidy(() => tf.complex(tf.tensor(f, [2, 3]), tf.tensor([1, 2, 3, 4, 5, 6], [2, 3])));
  }
}

/** The typed array each dtype is stored in on the cpu-derived backends. */
const STORAGE: Partial<Record<Dtype, string>> = { float32: "Float32Array", int32: "Int32Array", bool: "Uint8Array" };

describe.skipIf(!hasBackend("native"))("tf.cast on native equals cpu for every dtype pair", () => {
  for (const from of DTYPES)
    for (const to of DTYPES) {
      it(`${from} -> ${to}: values, dtype, and storage of that dtype`, async () => {
        const run = () => tf.cast(sample(from), to);
        const [cpu] = await valuesOn("cpu", run);
        const [native] = await valuesOn("native", run);
        expect(native!.shape).toEqual(cpu!.shape);
        expect(Array.from(native!.values)).toEqual(Array.from(cpu!.values));
        const before = tf.memory().numTensors;
        const x = sample(from);
        const y = tf.cast(x, to);
        expect(y.dtype).toBe(to);
        const stored = (tf.backend() as unknown as { data: { get(id: object): { values?: unknown } } }).data.get(
          y.dataId,
        ).values;
        if (STORAGE[to]) expect(stored?.constructor.name).toBe(STORAGE[to]);
        tf.dispose([x, y]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
});

describeEachBackend("a cast tensor feeds the native kernels", ["native", "cpu"], () => {
  it("layerNorm(x, cast(int32 gamma), cast(bool beta)) equals the float32 parameters", async () => {
    const x = tf.tensor([1, 2, 4, -1, 0, 3], [2, 3]);
    const got = layerNorm(
      x,
      tf.cast(tf.tensor([1, 2, 3], [3], "int32"), "float32"),
      tf.cast(tf.tensor([1, 0, 1], [3], "bool"), "float32"),
    );
    const want = layerNorm(x, tf.tensor([1, 2, 3]), tf.tensor([1, 0, 1]));
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    const sum = tf.add(tf.cast(tf.tensor([1, 2], [2], "int32"), "float32"), tf.tensor([0.5, 0.5]));
    expect(Array.from(await sum.data())).toEqual([1.5, 2.5]);
    tf.dispose([x, got, want, sum]);
  });
});
