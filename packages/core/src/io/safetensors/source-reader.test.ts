import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { openSafetensors } from "./reader.js";
import { readAllTensors, safetensorsFromBytes } from "./source-reader.js";
import { writeSafetensors } from "./writer.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-bytes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("safetensorsFromBytes", () => {
  it("reads what the file reader reads, from an ArrayBuffer", async () => {
    const path = join(tmp, "a.safetensors");
    const a = tf.tensor([1.5, -2, 3, 4.25], [2, 2]);
    const b = tf.tensor([7, 8, 9], [3], "int32");
    await writeSafetensors(path, { a, b }, { format: "pt" });
    const file = readFileSync(path);
    const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
    const fromBytes = await safetensorsFromBytes(buffer, "a.safetensors");
    const fromFile = await openSafetensors(path);
    expect(fromBytes.names()).toEqual(fromFile.names());
    expect(fromBytes.metadata).toEqual({ format: "pt" });
    expect(fromBytes.info("a")).toEqual(fromFile.info("a"));
    await fromFile.close();
    const all = await readAllTensors(fromBytes);
    expect(await all.a!.array()).toEqual(await a.array());
    expect(all.b!.dtype).toBe("int32");
    expect(await all.b!.array()).toEqual([7, 8, 9]);
    await expect(fromBytes.read("a")).rejects.toThrow(/a\.safetensors: reader is closed/);
    tf.dispose([a, b, ...Object.values(all)]);
  });

  it("names the buffer in header errors", async () => {
    await expect(safetensorsFromBytes(new Uint8Array(4), "tiny.bin")).rejects.toThrow(/tiny\.bin: truncated file/);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 100n, true);
    await expect(safetensorsFromBytes(bad, "bad.bin")).rejects.toThrow(/bad\.bin: header length 100 runs past/);
  });
});
