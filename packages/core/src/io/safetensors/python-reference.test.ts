import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openSafetensors, tf, writeSafetensors, type RawTensor } from "../../index.js";

// `python-reference.safetensors` was written by the Python `safetensors` package 0.8.0:
//
//   t = {"b.weight": f32 [3,4] random, "a.weight": f32 [5] random, "B.upper": f32 [1.5], "ids": int64 [1,-2,3],
//        "half": float16 [1,-2,0.333], "mask": bool [T,F,T], "bytes": uint8 [0,7,255], "count": int32 [5,-6],
//        "scalar": f32 2.5 (shape []), "empty": f32 zeros [0,3]}
//   safetensors.numpy.save_file(t, path, metadata={"format": "pt"})
const reference = fileURLToPath(new URL("./python-reference.safetensors", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-python-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the Python safetensors package's own file", () => {
  it("reads every dtype it wrote, in its order", async () => {
    const r = await openSafetensors(reference);
    expect(r.metadata).toEqual({ format: "pt" });
    // The reference orders by dtype alignment (I64 > F32 > I32 > F16 > U8 > BOOL), then by name bytes.
    expect(r.names()).toEqual([
      "ids",
      "B.upper",
      "a.weight",
      "b.weight",
      "empty",
      "scalar",
      "count",
      "half",
      "bytes",
      "mask",
    ]);
    const values = async (name: string) => {
      const t = await r.read(name);
      const out = { dtype: t.dtype, shape: t.shape, values: Array.from(await t.data()) };
      t.dispose();
      return out;
    };
    expect(await values("ids")).toEqual({ dtype: "int32", shape: [3], values: [1, -2, 3] });
    expect(await values("half")).toEqual({ dtype: "float32", shape: [3], values: [1, -2, 0.3330078125] });
    expect(await values("mask")).toEqual({ dtype: "bool", shape: [3], values: [1, 0, 1] });
    expect(await values("bytes")).toEqual({ dtype: "int32", shape: [3], values: [0, 7, 255] });
    expect(await values("count")).toEqual({ dtype: "int32", shape: [2], values: [5, -6] });
    expect(await values("scalar")).toEqual({ dtype: "float32", shape: [], values: [2.5] });
    expect(await values("empty")).toEqual({ dtype: "float32", shape: [0, 3], values: [] });
    expect(r.info("b.weight")).toEqual({ dtype: "F32", shape: [3, 4] });
    await r.close();
  });

  it("writes the same tensors to the same bytes", async () => {
    const r = await openSafetensors(reference);
    const raw: Record<string, RawTensor> = {};
    // shuffled insertion order: the writer must sort as the reference does
    for (const name of [...r.names()].reverse()) {
      const { dtype, shape } = r.info(name);
      raw[name] = { dtype: dtype as RawTensor["dtype"], shape, data: await r.readBytes(name) };
    }
    await r.close();
    const path = join(tmp, "ours.safetensors");
    await writeSafetensors(path, raw, { format: "pt" });
    expect(readFileSync(path).equals(readFileSync(reference))).toBe(true);
  });

  it("writes TF.js tensors as the reference writes the same arrays", async () => {
    const r = await openSafetensors(reference);
    const names = ["B.upper", "a.weight", "b.weight", "count", "mask", "scalar"];
    const tensors: Record<string, tf.Tensor> = {};
    for (const n of names) tensors[n] = await r.read(n);
    const subset: Record<string, RawTensor> = {};
    for (const n of names) subset[n] = { ...(r.info(n) as RawTensor), data: await r.readBytes(n) };
    await r.close();
    const fromTf = join(tmp, "tf.safetensors");
    const fromBytes = join(tmp, "bytes.safetensors");
    await writeSafetensors(fromTf, tensors, { format: "pt" });
    await writeSafetensors(fromBytes, subset, { format: "pt" });
    expect(readFileSync(fromTf).equals(readFileSync(fromBytes))).toBe(true);
    tf.dispose(Object.values(tensors));
  });
});
