import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSafetensors, tf, writeSafetensors } from "../../index.js";
import { sharedPath } from "../../../../../testing/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-read-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An independent, whole-file parse of a (small) safetensors file, to check the reader against. */
function parseWhole(path: string) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, any>;
  const { __metadata__, ...tensors } = header;
  return {
    buf,
    dataStart: 8 + n,
    tensors: tensors as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>,
    metadata: __metadata__,
  };
}

/** Writes a safetensors file by hand: header (object or literal text) and data bytes. */
function rawFile(name: string, header: object | string, data: Uint8Array, lengthOverride?: bigint): string {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  const path = join(tmp, name);
  writeFileSync(path, Buffer.concat([len, text, data]));
  return path;
}

const goldenDirs = ["hf-vit-tiny-depth2", "timm-vit-tiny-depth4", "phi3-mini-shape-tiny"];

for (const dir of goldenDirs) {
  for (const file of ["model.safetensors", "golden.safetensors"]) {
    const path = sharedPath(`goldens/${dir}/${file}`);
    describe.skipIf(!path)(`goldens/${dir}/${file}`, () => {
      it("has the names, shapes, metadata and values of an independent parse", async () => {
        const raw = parseWhole(path!);
        const reader = await openSafetensors(path!);
        expect(new Set(reader.names())).toEqual(new Set(Object.keys(raw.tensors)));
        expect(reader.metadata).toEqual(raw.metadata ?? {});
        for (const [name, t] of Object.entries(raw.tensors)) {
          expect(reader.info(name)).toEqual({ dtype: t.dtype, shape: t.shape });
          const tensor = await reader.read(name);
          expect(tensor.shape).toEqual(t.shape);
          const count = t.shape.reduce((a, b) => a * b, 1);
          const start = raw.dataStart + t.data_offsets[0];
          if (t.dtype === "F32") {
            expect(tensor.dtype).toBe("float32");
            const values = (await tensor.data()) as Float32Array;
            // every bit equal to the file's bytes, and a few values decoded independently
            const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
            expect(bytes.equals(raw.buf.subarray(start, start + 4 * count))).toBe(true);
            const probe = [0, count >> 1, count - 1];
            expect(probe.map((i) => values[i])).toEqual(probe.map((i) => raw.buf.readFloatLE(start + 4 * i)));
          } else {
            expect(t.dtype).toBe("I64");
            expect(tensor.dtype).toBe("int32");
            const expected = Array.from({ length: count }, (_, i) => Number(raw.buf.readBigInt64LE(start + 8 * i)));
            expect(Array.from(await tensor.data())).toEqual(expected);
          }
          tensor.dispose();
        }
        await reader.close();
      });
    });
  }
}

const vitGolden = sharedPath("goldens/timm-vit-tiny-depth4/golden.safetensors");
describe.skipIf(!vitGolden)("golden content", () => {
  it("stores the same pixels as NCHW and NHWC", async () => {
    const reader = await openSafetensors(vitGolden!);
    const nchw = await reader.read("pixel_values_nchw");
    const nhwc = await reader.read("pixel_values_nhwc");
    const moved = tf.transpose(nchw, [0, 2, 3, 1]);
    expect(tf.max(tf.abs(tf.sub(moved, nhwc))).dataSync()[0]).toBe(0);
    tf.dispose([nchw, nhwc, moved]);
    await reader.close();
  });
});

const phiGolden = sharedPath("goldens/phi3-mini-shape-tiny/golden.safetensors");
describe.skipIf(!phiGolden)("phi3 golden ids", () => {
  it("reads I64 ids as int32 and greedy output starts with the prompt", async () => {
    const reader = await openSafetensors(phiGolden!);
    expect(reader.info("input_ids")).toEqual({ dtype: "I64", shape: [2, 12] });
    const prompt = Array.from(await (await reader.read("prompt_ids")).data());
    const generated = Array.from(await (await reader.read("generated_ids")).data());
    expect(generated.slice(0, prompt.length)).toEqual(prompt);
    expect(Math.max(...generated)).toBeLessThan(32064);
    await reader.close();
  });
});

describe("dtypes", () => {
  const bits = (values: number[]) => new Uint8Array(Uint16Array.from(values).buffer);

  it("decodes F16 bit patterns to float32", async () => {
    const path = join(tmp, "f16.safetensors");
    // 1, -2, 1/3 rounded, max half, smallest subnormal, +inf, -inf, -0, NaN
    const patterns = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x7e00];
    await writeSafetensors(path, { h: { dtype: "F16", shape: [3, 3], data: bits(patterns) } });
    const r = await openSafetensors(path);
    expect(r.info("h")).toEqual({ dtype: "F16", shape: [3, 3] });
    const t = await r.read("h");
    expect(t.dtype).toBe("float32");
    const v = Array.from(await t.data());
    expect(v.slice(0, 8)).toEqual([1, -2, 1365 / 4096, 65504, 2 ** -24, Infinity, -Infinity, -0]);
    expect(Object.is(v[7], -0)).toBe(true);
    expect(v[8]).toBeNaN();
    t.dispose();
    await r.close();
  });

  it("decodes BF16 bit patterns to float32", async () => {
    const path = join(tmp, "bf16.safetensors");
    // 1, -3, pi rounded to bf16 (0x4049 = 3.140625), 1/3 rounded, 2^100, -inf
    const patterns = [0x3f80, 0xc040, 0x4049, 0x3eab, 0x7180, 0xff80];
    await writeSafetensors(path, { b: { dtype: "BF16", shape: [6], data: bits(patterns) } });
    const r = await openSafetensors(path);
    const t = await r.read("b");
    expect(Array.from(await t.data())).toEqual([1, -3, 3.140625, 0.333984375, 2 ** 100, -Infinity]);
    t.dispose();
    await r.close();
  });

  it("reads I64 as int32 and names the tensor when a value does not fit", async () => {
    const path = join(tmp, "i64.safetensors");
    const ok = BigInt64Array.from([0n, 1n, -1n, 2147483647n, -2147483648n, 42n]);
    const big = BigInt64Array.from([5n, 2147483648n]);
    await writeSafetensors(path, {
      ids: { dtype: "I64", shape: [2, 3], data: new Uint8Array(ok.buffer) },
      "too.big": { dtype: "I64", shape: [2], data: new Uint8Array(big.buffer) },
    });
    const r = await openSafetensors(path);
    const t = await r.read("ids");
    expect(t.dtype).toBe("int32");
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(await t.data())).toEqual([0, 1, -1, 2147483647, -2147483648, 42]);
    t.dispose();
    await expect(r.read("too.big")).rejects.toThrow(
      /i64\.safetensors: tensor 'too\.big': value 2147483648 at flat index 1/,
    );
    await r.close();
  });

  it("reads I32, U8 and BOOL", async () => {
    const path = join(tmp, "ints.safetensors");
    await writeSafetensors(path, {
      i: { dtype: "I32", shape: [3], data: new Uint8Array(Int32Array.from([-7, 0, 9]).buffer) },
      u: { dtype: "U8", shape: [2, 2], data: Uint8Array.from([0, 1, 128, 255]) },
      m: { dtype: "BOOL", shape: [3], data: Uint8Array.from([1, 0, 1]) },
      s: { dtype: "F32", shape: [], data: new Uint8Array(Float32Array.from([2.5]).buffer) },
    });
    const r = await openSafetensors(path);
    const [i, u, m, s] = await Promise.all(["i", "u", "m", "s"].map((n) => r.read(n)));
    expect([i!.dtype, u!.dtype, m!.dtype, s!.dtype]).toEqual(["int32", "int32", "bool", "float32"]);
    expect(Array.from(await i!.data())).toEqual([-7, 0, 9]);
    expect(Array.from(await u!.data())).toEqual([0, 1, 128, 255]);
    expect(Array.from(await m!.data())).toEqual([1, 0, 1]);
    expect(s!.shape).toEqual([]);
    expect(Array.from(await s!.data())).toEqual([2.5]);
    tf.dispose([i!, u!, m!, s!]);
    await r.close();
  });
});

describe("malformed files", () => {
  const f32 = (n: number) => new Uint8Array(4 * n);

  it("rejects a file shorter than the length prefix", async () => {
    const path = join(tmp, "tiny.safetensors");
    writeFileSync(path, Buffer.from([1, 2, 3]));
    await expect(openSafetensors(path)).rejects.toThrow(/tiny\.safetensors: truncated file/);
  });

  it("rejects a truncated file (data shorter than the offsets)", async () => {
    const path = join(tmp, "whole.safetensors");
    await writeSafetensors(path, { a: tf.ones([4]), b: tf.zeros([8]) });
    const bytes = readFileSync(path);
    const cut = join(tmp, "cut.safetensors");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
    await expect(openSafetensors(cut)).rejects.toThrow(
      /cut\.safetensors: tensor 'b': data_offsets \[16, 48\] are out of range/,
    );
  });

  it("rejects a header length past the end of the file", async () => {
    const path = rawFile("longhdr.safetensors", {}, f32(0), 1_000_000n);
    await expect(openSafetensors(path)).rejects.toThrow(
      /longhdr\.safetensors: header length 1000000 runs past the end/,
    );
  });

  it("rejects overlapping offsets", async () => {
    const header = {
      x: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
      y: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
    };
    const path = rawFile("overlap.safetensors", header, f32(6));
    await expect(openSafetensors(path)).rejects.toThrow(
      /overlap\.safetensors: tensor 'y' \[8, 24\] overlaps tensor 'x'/,
    );
  });

  it("rejects offsets out of range", async () => {
    const path = rawFile("range.safetensors", { x: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2));
    await expect(openSafetensors(path)).rejects.toThrow(
      /range\.safetensors: tensor 'x': .*out of range.*holds 8 bytes/,
    );
  });

  it("rejects offsets that do not match dtype x shape", async () => {
    const path = rawFile("size.safetensors", { x: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, f32(4));
    await expect(openSafetensors(path)).rejects.toThrow(
      /size\.safetensors: tensor 'x': .*span 16 bytes, but F32 \[3\] needs 12/,
    );
  });

  it("rejects an unknown dtype", async () => {
    const path = rawFile("dtype.safetensors", { x: { dtype: "F99", shape: [1], data_offsets: [0, 4] } }, f32(1));
    await expect(openSafetensors(path)).rejects.toThrow(/dtype\.safetensors: tensor 'x': unknown dtype "F99"/);
  });

  it("rejects a header that is not JSON", async () => {
    const path = rawFile("json.safetensors", '{"x": {"dtype": "F32",', f32(1));
    await expect(openSafetensors(path)).rejects.toThrow(/json\.safetensors: the safetensors header is not valid JSON/);
  });

  it("rejects a folder, pointing to openCheckpoint", async () => {
    await expect(openSafetensors(tmp)).rejects.toThrow(/not a file .*use openCheckpoint/);
  });

  it("names the file and tensor for a missing name", async () => {
    const path = join(tmp, "named.safetensors");
    await writeSafetensors(path, { a: tf.ones([1]) });
    const r = await openSafetensors(path);
    expect(() => r.info("nope")).toThrow(/named\.safetensors: no tensor named 'nope'/);
    await r.close();
    await expect(r.read("a")).rejects.toThrow(/reader is closed/);
  });
});

describe("large files", () => {
  it("reads a tensor stored past 4 GiB without reading what precedes it", async () => {
    // A sparse file: a 4.5 GB U8 tensor (never read, takes no disk) followed by a small F32 tensor.
    const pad = 4_500_000_000;
    const header = Buffer.from(
      JSON.stringify({
        pad: { dtype: "U8", shape: [pad], data_offsets: [0, pad] },
        x: { dtype: "F32", shape: [2], data_offsets: [pad, pad + 8] },
      }),
    );
    const path = join(tmp, "sparse.safetensors");
    const fd = openSync(path, "w");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, Buffer.concat([len, header]), 0, 8 + header.length, 0);
    ftruncateSync(fd, 8 + header.length + pad);
    writeSync(fd, Buffer.from(Float32Array.from([1.5, -2.25]).buffer), 0, 8, 8 + header.length + pad);
    closeSync(fd);
    expect(statSync(path).size).toBe(8 + header.length + pad + 8);
    const before = tf.memory().numTensors;
    const r = await openSafetensors(path);
    expect(r.info("pad").shape).toEqual([pad]);
    for (let i = 0; i < 3; i++) {
      const x = await r.read("x");
      expect(Array.from(await x.data())).toEqual([1.5, -2.25]);
      x.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    await r.close();
    rmSync(path);
  });
});
