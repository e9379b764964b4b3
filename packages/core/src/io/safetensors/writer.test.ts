import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSafetensors, tf, writeSafetensors } from "../../index.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-write-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function headerOf(path: string): { length: number; text: string; dataBytes: number } {
  const buf = readFileSync(path);
  const length = Number(buf.readBigUInt64LE(0));
  return { length, text: buf.subarray(8, 8 + length).toString("utf8"), dataBytes: buf.length - 8 - length };
}

describe("writeSafetensors", () => {
  it("writes the reference writer's exact bytes", async () => {
    // The layout the Rust safetensors serializer produces for one F32 [1,2,3] tensor of 0..5:
    // the 64-byte header needs no padding; "attn0" with shape [1,1,2,3] needs 7 spaces to reach 72.
    const path = join(tmp, "exact.safetensors");
    const values = tf.tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    await writeSafetensors(path, { "attn.0": values });
    const buf = readFileSync(path);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(buf.readBigUInt64LE(0)).toBe(64n);
    expect(buf.subarray(8, 72).toString()).toBe(header);
    expect(Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset + 72, buf.byteOffset + 96)))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(buf.length).toBe(96);

    const padded = join(tmp, "padded.safetensors");
    await writeSafetensors(padded, { attn0: tf.reshape(values, [1, 1, 2, 3]) });
    const h = headerOf(padded);
    expect(h.length).toBe(72);
    expect(h.text).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
    values.dispose();
  });

  it("writes metadata first, and an empty file as the reference does", async () => {
    const path = join(tmp, "meta.safetensors");
    await writeSafetensors(path, {}, { framework: "pt" });
    expect(headerOf(path)).toEqual({ length: 40, text: '{"__metadata__":{"framework":"pt"}}     ', dataBytes: 0 });
    const empty = join(tmp, "empty.safetensors");
    await writeSafetensors(empty, {});
    expect(headerOf(empty)).toEqual({ length: 8, text: "{}      ", dataBytes: 0 });
  });

  it("sorts by dtype alignment then name, with contiguous offsets covering the data", async () => {
    const path = join(tmp, "order.safetensors");
    const tensors = {
      "b.weight": tf.ones([2, 2]),
      "a.weight": tf.zeros([3]),
      mask: tf.tensor([true, false], [2], "bool"),
      ids: { dtype: "I64" as const, shape: [2], data: new Uint8Array(16) },
      half: { dtype: "BF16" as const, shape: [3], data: new Uint8Array(6) },
      count: tf.tensor([1, 2], [2], "int32"),
      "B.upper": tf.ones([1]),
    };
    await writeSafetensors(path, tensors, { format: "pt" });
    const { text, dataBytes, length } = headerOf(path);
    expect(length % 8).toBe(0);
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    expect(names).toEqual(["ids", "B.upper", "a.weight", "b.weight", "count", "half", "mask"]);
    let end = 0;
    for (const n of names) {
      expect(header[n]!.data_offsets[0]).toBe(end);
      end = header[n]!.data_offsets[1];
    }
    expect(end).toBe(dataBytes);
    const r = await openSafetensors(path);
    expect(r.metadata).toEqual({ format: "pt" });
    expect(r.names()).toEqual(names);
    for (const [name, t] of Object.entries(tensors)) {
      if (!(t instanceof tf.Tensor)) continue;
      const back = await r.read(name);
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(await back.data())).toEqual(Array.from(await t.data()));
      back.dispose();
      t.dispose();
    }
    await r.close();
  });

  it("replaces a file atomically and leaves the old one when writing fails", async () => {
    const path = join(tmp, "atomic", "w.safetensors");
    rmSync(join(tmp, "atomic"), { recursive: true, force: true });
    mkdirSync(join(tmp, "atomic"));
    const one = tf.ones([2]);
    await writeSafetensors(path, { x: one });
    const before = readFileSync(path);
    const failing = {
      dtype: "F32" as const,
      shape: [2],
      data: () => {
        throw new Error("source failed");
      },
    };
    await expect(writeSafetensors(path, { x: one, y: failing })).rejects.toThrow(/source failed/);
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(join(tmp, "atomic"))).toEqual(["w.safetensors"]);
    one.dispose();
  });

  it("rejects bad input naming the tensor", async () => {
    const path = join(tmp, "bad.safetensors");
    await expect(
      writeSafetensors(path, { short: { dtype: "F32", shape: [3], data: new Uint8Array(8) } }),
    ).rejects.toThrow(/bad\.safetensors: tensor 'short' has 8 bytes of data, its dtype and shape need 12/);
    const s = tf.tensor(["a"], [1], "string");
    await expect(writeSafetensors(path, { words: s })).rejects.toThrow(
      /tensor 'words': a string tensor cannot be written/,
    );
    s.dispose();
  });
});
