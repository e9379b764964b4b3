import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FuzzRng, fuzzSeed, mutateBytes } from "../../../testing/fuzz.js";
import { findJsonSyntaxError } from "./json-syntax.js";

const tmp = mkdtempSync(join(tmpdir(), "json-syntax-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("findJsonSyntaxError", () => {
  it("points at the first error: byte, line and column", async () => {
    const path = join(tmp, "a.json");
    writeFileSync(path, '[\n  {"a": 1,\n   "b": tru}\n]');
    expect(await findJsonSyntaxError(path)).toMatchObject({ offset: 24, line: 3, column: 12 });
    writeFileSync(path, '{"a": "x\\qy"}');
    expect((await findJsonSyntaxError(path))?.reason).toMatch(/invalid escape/);
    writeFileSync(path, "\uFEFF[1, 2]  \n");
    expect(await findJsonSyntaxError(path)).toBeUndefined();
  });

  it("agrees with JSON.parse on 400 mutated documents (seeded)", async () => {
    const seed = fuzzSeed();
    const doc = Buffer.from(
      JSON.stringify([
        { id: "a", image: "x/1.jpg", conversations: [{ from: "human", value: '<image>\nWhat bird? "\u00e9"' }] },
        { id: 2, n: -1.5e-3, ok: true, none: null, list: [[], {}, [1, { "": 0 }]] },
      ]),
    );
    const path = join(tmp, "m.json");
    for (let i = 0; i < 400; i++) {
      const m = mutateBytes(doc, new FuzzRng(seed + i));
      writeFileSync(path, m.bytes);
      let valid = true;
      try {
        JSON.parse(new TextDecoder("utf-8", { fatal: false }).decode(m.bytes));
      } catch {
        valid = false;
      }
      const found = await findJsonSyntaxError(path);
      expect(found === undefined, `seed ${seed} case ${i} (${m.what}): ${JSON.stringify(found)}`).toBe(valid);
    }
  });
});
