import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFolderAtomic, writeJsonAtomic } from "../index.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-atomic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("writeJsonAtomic", () => {
  it("writes and replaces a JSON file, leaving no temporary file", async () => {
    const dir = join(tmp, "json");
    mkdirSync(dir);
    const path = join(dir, "trainer.json");
    await writeJsonAtomic(path, { step: 1 });
    await writeJsonAtomic(path, { step: 2, seed: 7 });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ step: 2, seed: 7 });
    expect(readdirSync(dir)).toEqual(["trainer.json"]);
  });
});

describe("writeFolderAtomic", () => {
  it("creates a folder, then replaces it as a whole", async () => {
    const dir = join(tmp, "runs", "ckpt");
    await writeFolderAtomic(dir, async (t) => {
      writeFileSync(join(t, "a.txt"), "one");
      writeFileSync(join(t, "old-only.txt"), "x");
    });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("one");
    await writeFolderAtomic(dir, async (t) => {
      writeFileSync(join(t, "a.txt"), "two");
    });
    expect(readdirSync(dir)).toEqual(["a.txt"]);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("two");
    expect(readdirSync(join(tmp, "runs"))).toEqual(["ckpt"]);
  });

  it("leaves the old folder intact when the write is interrupted", async () => {
    const dir = join(tmp, "keep");
    await writeFolderAtomic(dir, async (t) => writeFileSync(join(t, "model.safetensors"), "old"));
    await expect(
      writeFolderAtomic(dir, async (t) => {
        writeFileSync(join(t, "model.safetensors"), "half-written");
        throw new Error("killed mid-write");
      }),
    ).rejects.toThrow(/killed mid-write/);
    expect(readFileSync(join(dir, "model.safetensors"), "utf8")).toBe("old");
    expect(readdirSync(tmp).filter((n) => n.includes("keep"))).toEqual(["keep"]);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true);
  });
});
