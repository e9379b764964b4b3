import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openCheckpoint, tf, writeJsonAtomic, writeSafetensors } from "../index.js";
import { sharedPath } from "../../../../testing/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-ckpt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A sharded checkpoint written by hand, the way transformers lays one out. */
async function shardedDir(name: string, weightMap?: Record<string, string>): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const b = tf.tensor([5, 6], [2]);
  const c = tf.tensor([7, 8, 9], [3], "int32");
  await writeSafetensors(
    join(dir, "model-00001-of-00002.safetensors"),
    { "layer.0.w": a, "layer.0.b": b },
    { format: "pt" },
  );
  await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), { "layer.1.ids": c }, { format: "pt" });
  tf.dispose([a, b, c]);
  await writeJsonAtomic(join(dir, "model.safetensors.index.json"), {
    metadata: { total_size: 36 },
    weight_map: weightMap ?? {
      "layer.0.b": "model-00001-of-00002.safetensors",
      "layer.0.w": "model-00001-of-00002.safetensors",
      "layer.1.ids": "model-00002-of-00002.safetensors",
    },
  });
  return dir;
}

describe("openCheckpoint", () => {
  it("reads a sharded checkpoint through its index", async () => {
    const dir = await shardedDir("sharded");
    const r = await openCheckpoint(dir);
    expect(r.path).toBe(join(dir, "model.safetensors.index.json"));
    expect(r.names()).toEqual(["layer.0.b", "layer.0.w", "layer.1.ids"]);
    expect(r.metadata).toEqual({ format: "pt", total_size: "36" });
    expect(r.info("layer.1.ids")).toEqual({ dtype: "I32", shape: [3] });
    const w = await r.read("layer.0.w");
    const ids = await r.read("layer.1.ids");
    expect(Array.from(await w.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await ids.data())).toEqual([7, 8, 9]);
    tf.dispose([w, ids]);
    expect(() => r.info("missing")).toThrow(/index\.json: no tensor named 'missing'/);
    await r.close();
  });

  it("names the index and tensor when the index is wrong", async () => {
    const wrong = await shardedDir("wrong-shard", { "layer.1.ids": "model-00001-of-00002.safetensors" });
    await expect(openCheckpoint(wrong)).rejects.toThrow(
      /index\.json: tensor 'layer\.1\.ids' is not in its shard .*model-00001-of-00002/,
    );
    const escape = await shardedDir("escape", { "layer.0.b": "../sharded/model-00001-of-00002.safetensors" });
    await expect(openCheckpoint(escape)).rejects.toThrow(/tensor 'layer\.0\.b' maps to .*not a file in/);
    const missing = await shardedDir("missing-shard", { "layer.0.b": "model-00009-of-00009.safetensors" });
    await expect(openCheckpoint(missing)).rejects.toThrow(/model-00009-of-00009\.safetensors/);
    const bad = join(tmp, "bad-index");
    mkdirSync(bad);
    writeFileSync(join(bad, "model.safetensors.index.json"), "{ nope");
    await expect(openCheckpoint(bad)).rejects.toThrow(/bad-index.*index\.json: not a readable JSON index/);
  });

  it("reads model.safetensors, a file path, and fails on an empty folder", async () => {
    const dir = join(tmp, "single");
    mkdirSync(dir);
    const x = tf.ones([2, 3]);
    await writeSafetensors(join(dir, "model.safetensors"), { x });
    x.dispose();
    for (const path of [dir, join(dir, "model.safetensors")]) {
      const r = await openCheckpoint(path);
      expect(r.names()).toEqual(["x"]);
      expect(r.info("x").shape).toEqual([2, 3]);
      await r.close();
    }
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    await expect(openCheckpoint(empty)).rejects.toThrow(
      /empty: no model\.safetensors or model\.safetensors\.index\.json in this folder$/,
    );
    writeFileSync(join(empty, "pytorch_model.bin"), "");
    await expect(openCheckpoint(empty)).rejects.toThrow(/it has pytorch_model\.bin: PyTorch pickles are not read/);
  });

  const golden = sharedPath("goldens/timm-vit-tiny-depth4");
  it.skipIf(!golden)("opens a golden checkpoint folder", async () => {
    const r = await openCheckpoint(golden!);
    expect(r.info("patch_embed.proj.weight")).toEqual({ dtype: "F32", shape: [192, 3, 16, 16] });
    expect(r.metadata).toEqual({ format: "pt" });
    await r.close();
  });
});
