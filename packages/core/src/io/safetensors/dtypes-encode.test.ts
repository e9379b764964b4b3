import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { halfBitsToFloat } from "./dtypes.js";
import { floatToBFloat16Bits, floatToHalfBits } from "./dtypes-encode.js";
import { openSafetensors, storeAs, tf, writeSafetensors } from "../../index.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-encode-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bf16ToFloat = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!;

describe("float32 → F16 / BF16", () => {
  it("encodes known values with round-to-nearest-even", () => {
    expect([1, -2, 1 / 3, 65504, 2 ** -24, 0, -0].map(floatToHalfBits)).toEqual([
      0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0, 0x8000,
    ]);
    expect(floatToHalfBits(65520)).toBe(0x7c00); // halfway between 65504 (odd mantissa) and 2^16: up, to inf
    expect(floatToHalfBits(1e6)).toBe(0x7c00);
    expect(floatToHalfBits(-Infinity)).toBe(0xfc00);
    expect(floatToHalfBits(2 ** -25)).toBe(0); // tie between 0 and 2^-24: to even (0)
    expect(floatToHalfBits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 units: to even (2)
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: to even
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalfBits(NaN) & 0x7fff).toBe(0x7e00);
    expect(floatToBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBFloat16Bits(Math.PI)).toBe(0x4049);
    expect(floatToBFloat16Bits(NaN) & 0x7fff).toBe(0x7fc0);
  });

  it("round-trips every non-NaN half and bfloat16 bit pattern", () => {
    const badHalf: number[] = [];
    const badBf16: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = halfBitsToFloat(h);
      if (!Number.isNaN(v) && floatToHalfBits(v) !== h) badHalf.push(h);
      const b = bf16ToFloat(h);
      if (!Number.isNaN(b) && floatToBFloat16Bits(b) !== h) badBf16.push(h);
    }
    expect(badHalf).toEqual([]);
    expect(badBf16).toEqual([]);
  });
});

describe("storeAs", () => {
  it("writes float32 as BF16 and F16, int32 as I64, and reads them back", async () => {
    const path = join(tmp, "stored.safetensors");
    const w = tf.tensor([1, -3, Math.PI, 1e-3], [2, 2]);
    const ids = tf.tensor([5, -1, 2147483647], [3], "int32");
    await writeSafetensors(path, { w_bf16: storeAs(w, "BF16"), w_f16: storeAs(w, "F16"), ids: storeAs(ids, "I64") });
    const r = await openSafetensors(path);
    expect(r.info("w_bf16")).toEqual({ dtype: "BF16", shape: [2, 2] });
    expect(r.info("ids")).toEqual({ dtype: "I64", shape: [3] });
    const [b, h, i] = await Promise.all([r.read("w_bf16"), r.read("w_f16"), r.read("ids")]);
    const bVals = Array.from(await b!.data());
    expect(bVals.slice(0, 3)).toEqual([1, -3, 3.140625]);
    expect(Math.abs(bVals[3]! - 1e-3)).toBeLessThan(1e-3 * 2 ** -8);
    const hVals = Array.from(await h!.data());
    expect(hVals.slice(0, 2)).toEqual([1, -3]);
    expect(Math.abs(hVals[2]! - Math.PI)).toBeLessThan(2 ** -9);
    expect(Array.from(await i!.data())).toEqual([5, -1, 2147483647]);
    tf.dispose([w, ids, b!, h!, i!]);
    await r.close();
  });

  it("refuses float values as an integer dtype, naming the tensor", async () => {
    const w = tf.ones([2]);
    await expect(writeSafetensors(join(tmp, "bad.safetensors"), { w: storeAs(w, "I64") })).rejects.toThrow(
      /bad\.safetensors: tensor 'w': as I64: cannot store float values as I64/,
    );
    w.dispose();
  });
});
