import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSafetensors, readSafetensors, tf, writeSafetensors } from "../../index.js";
import { parseHeader } from "./header.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-strict-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A safetensors file from literal header text and data bytes. */
function rawFile(name: string, header: string, data: Uint8Array): string {
  const text = Buffer.from(header, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const path = join(tmp, name);
  writeFileSync(path, Buffer.concat([len, text, data]));
  return path;
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const entry = (begin: number, end: number, shape = [(end - begin) / 4]) =>
  JSON.stringify({ dtype: "F32", shape, data_offsets: [begin, end] });

describe("safetensors headers are read as strictly as the reference implementation", () => {
  it("refuses a tensor named twice (JSON.parse would keep the last silently)", async () => {
    const path = rawFile("twice.safetensors", `{"a":${entry(0, 4)},"a":${entry(4, 8)}}`, f32(1, 2));
    await expect(openSafetensors(path)).rejects.toThrow(/twice\.safetensors: .*names tensor 'a' twice/);
    const nested = rawFile(
      "nested.safetensors",
      `{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`,
      f32(1),
    );
    await expect(openSafetensors(nested)).rejects.toThrow(/names 'dtype' in 'a' twice/);
    // an escaped spelling of the same name is the same name
    expect(() => parseHeader("f", `{"a":${entry(0, 4)},"\\u0061":${entry(4, 8)}}`, 8)).toThrow(/tensor 'a' twice/);
    // the same key in two different tensors is fine
    expect(parseHeader("f", `{"a":${entry(0, 4)},"b":${entry(4, 8)}}`, 8).entries.map((e) => e.name)).toEqual([
      "a",
      "b",
    ]);
  });

  it("keeps names as data: __proto__, constructor and toString are tensors like any other, nothing leaks", async () => {
    const before = tf.memory().numTensors;
    const path = rawFile(
      "proto.safetensors",
      `{"__metadata__":{"__proto__":"m"},"__proto__":${entry(0, 4)},"constructor":${entry(4, 8)},"toString":${entry(8, 16)}}`,
      f32(1, 2, 3, 4),
    );
    const reader = await openSafetensors(path);
    expect(reader.names()).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.getPrototypeOf(reader.metadata)).toBeNull();
    expect(Object.keys(reader.metadata)).toEqual(["__proto__"]);
    await reader.close();
    const tensors = await readSafetensors(path);
    expect(Object.getPrototypeOf(tensors)).toBeNull();
    expect(Object.keys(tensors)).toEqual(["__proto__", "constructor", "toString"]);
    expect(Array.from(await tensors["__proto__"]!.data())).toEqual([1]);
    expect(Array.from(await tensors["toString"]!.data())).toEqual([3, 4]);
    Object.values(tensors).forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it("refuses a gap between tensors, data before the first and trailing bytes after the last", async () => {
    const gap = rawFile("gap.safetensors", `{"a":${entry(0, 4)},"b":${entry(8, 12)}}`, f32(1, 2, 3));
    await expect(openSafetensors(gap)).rejects.toThrow(
      /gap\.safetensors: tensor 'b' starts at byte 8 of the data, but tensor 'a' ends at 4: 4 bytes belong to no tensor/,
    );
    const late = rawFile("late.safetensors", `{"a":${entry(4, 8)}}`, f32(1, 2));
    await expect(openSafetensors(late)).rejects.toThrow(
      /tensor 'a' starts at byte 4 of the data, but the data starts at 0/,
    );
    const trailing = rawFile("trailing.safetensors", `{"a":${entry(0, 4)}}`, f32(1, 2));
    await expect(openSafetensors(trailing)).rejects.toThrow(
      /trailing\.safetensors: the tensors cover 4 bytes of data, but the file holds 8 after its header: 4 trailing bytes/,
    );
    const empty = rawFile("empty.safetensors", `{}`, f32(1));
    await expect(openSafetensors(empty)).rejects.toThrow(/cover 0 bytes of data, but the file holds 4/);
  });

  it("refuses a header that does not start with '{', and a tensor entry that is an array", async () => {
    const space = rawFile("space.safetensors", ` {"a":${entry(0, 4)}}`, f32(1));
    await expect(openSafetensors(space)).rejects.toThrow(
      /space\.safetensors: the safetensors header does not start with '\{'/,
    );
    const arr = rawFile("arr.safetensors", `{"a":[0,4]}`, f32(1));
    await expect(openSafetensors(arr)).rejects.toThrow(/tensor 'a': header entry is not an object/);
  });

  it("refuses a named pipe or a device in place of a weights file without blocking on it", async () => {
    const fifo = join(tmp, "pipe.safetensors");
    execFileSync("mkfifo", [fifo]);
    await expect(openSafetensors(fifo)).rejects.toThrow(/pipe\.safetensors: not a file/);
    await expect(openSafetensors("/dev/zero")).rejects.toThrow(/\/dev\/zero: not a file/);
  }, 5000);

  it("still reads what the writer writes, zero-size tensors and padding included", async () => {
    const path = join(tmp, "ok.safetensors");
    await writeSafetensors(path, { a: tf.ones([3]), e: tf.zeros([0]), z: tf.zeros([2, 0]) }, { format: "pt" });
    const t = await readSafetensors(path);
    expect(Object.keys(t).sort()).toEqual(["a", "e", "z"]);
    Object.values(t).forEach((x) => x.dispose());
  });
});
