import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzz, mutateBytes, mutateJson, type FuzzRng } from "../../../../../testing/fuzz.js";
import { openSafetensors, readSafetensors, tf, writeSafetensors } from "../../index.js";
import { safetensorsFromBytes } from "./source-reader.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-st-fuzz-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A header edited as JSON (a field deleted or made hostile, a name repeated), its length prefix fixed or not. */
function mutateHeader(file: Uint8Array, rng: FuzzRng): { bytes: Uint8Array; what: string } {
  const n = Number(Buffer.from(file).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString("utf8")) as Record<string, unknown>;
  let text: string;
  let what: string;
  if (rng.int(4) === 0) {
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    const name = rng.pick(names);
    const other = rng.pick(names);
    text = JSON.stringify(header).replace(/}$/, `,${JSON.stringify(name)}:${JSON.stringify(header[other])}}`);
    what = `repeated name '${name}' with the entry of '${other}'`;
  } else {
    const m = mutateJson(header, rng);
    text = JSON.stringify(m.value) ?? "null";
    what = `header ${m.what}`;
  }
  const body = Buffer.from(text, "utf8");
  const len = Buffer.alloc(8);
  const keepOld = rng.int(5) === 0;
  len.writeBigUInt64LE(BigInt(keepOld ? n : body.length));
  const bytes = Buffer.concat([len, body, file.subarray(8 + n)]);
  return { bytes, what: `${what}${keepOld ? " (old length prefix)" : ""}` };
}

describe("safetensors fuzz: mutated files end in the reader's own errors, never hang, never leak", () => {
  let valid: Uint8Array;
  beforeAll(async () => {
    const t = {
      "a.weight": tf.randomNormal([3, 4], 0, 1, "float32", 1),
      "a.bias": tf.zeros([4]),
      ids: tf.tensor([1, -2, 3], [3], "int32"),
      mask: tf.tensor([1, 0], [2], "bool"),
      empty: tf.zeros([0, 2]),
    };
    await writeSafetensors(join(tmp, "valid.safetensors"), t, { format: "pt", note: "fuzz" });
    tf.dispose(Object.values(t));
    valid = readFileSync(join(tmp, "valid.safetensors"));
  });

  it("reads a Node Buffer at an odd offset (Buffer's slice is a view, not the copy the reader needs)", async () => {
    const odd = Buffer.concat([Buffer.from([7]), valid]).subarray(1);
    const reader = await safetensorsFromBytes(odd);
    const w = await reader.read("a.weight");
    expect(w.shape).toEqual([3, 4]);
    w.dispose();
    await reader.close();
  });

  it("300 mutations of a valid file, read from disk and from memory", async () => {
    const result = await fuzz(
      "safetensors",
      { cases: 300, timeoutMs: 2000, tensors: () => tf.memory().numTensors },
      async (rng, i) => {
        const m = rng.int(2) === 0 ? mutateBytes(valid, rng) : mutateHeader(valid, rng);
        const path = join(tmp, `case-${i}.safetensors`);
        writeFileSync(path, m.bytes);
        return {
          what: m.what,
          names: [path, "fuzz bytes"],
          load: async () => {
            const fromDisk = await readSafetensors(path);
            tf.dispose(Object.values(fromDisk));
            const reader = await safetensorsFromBytes(m.bytes, "fuzz bytes");
            const all = await Promise.all(reader.names().map((n) => reader.read(n)));
            tf.dispose(all);
            await reader.close();
            (await openSafetensors(path)).close();
          },
        };
      },
    );
    // the mutations reach both outcomes: most are refused, a few (flips inside tensor data) still load
    expect(result.refused).toBeGreaterThan(150);
    expect(result.loaded).toBeGreaterThan(0);
  }, 60_000);
});
