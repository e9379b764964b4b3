import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openCheckpoint, openSafetensors, tf, writeCheckpoint, type RawTensor } from "../index.js";
import { sharedPath } from "../../../../testing/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-ckpt-write-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  return dir;
}

describe("writeCheckpoint", () => {
  it("shards in order like huggingface_hub, with a sorted index, and reads back", async () => {
    const dir = folder("sharded");
    // sizes in bytes: a 40, b 40, big 400, c 24 with 100-byte shards. As in huggingface_hub, an oversized
    // tensor becomes a shard of its own at once, before the shard being filled: [big] [a, b] [c]
    const tensors = {
      "x.a": tf.fill([10], 1),
      "x.b": tf.fill([10], 2),
      "x.big": tf.fill([100], 3),
      "x.c": tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], "int32"),
    };
    const written = await writeCheckpoint(dir, tensors, { maxShardBytes: 100, metadata: { note: "test" } });
    expect(written.totalBytes).toBe(504);
    expect(written.files).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    const index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
    expect(index).toEqual({
      metadata: { total_size: 504 },
      weight_map: {
        "x.a": "model-00002-of-00003.safetensors",
        "x.b": "model-00002-of-00003.safetensors",
        "x.big": "model-00001-of-00003.safetensors",
        "x.c": "model-00003-of-00003.safetensors",
      },
    });
    const shard = await openSafetensors(join(dir, "model-00001-of-00003.safetensors"));
    expect(shard.metadata).toEqual({ format: "pt", note: "test" });
    await shard.close();
    const r = await openCheckpoint(dir);
    for (const [name, t] of Object.entries(tensors)) {
      const back = await r.read(name);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(await back.data())).toEqual(Array.from(await t.data()));
      tf.dispose([back, t]);
    }
    await r.close();
  });

  it("writes one model.safetensors when it fits, removing an older save's shards", async () => {
    const dir = folder("resave");
    const w = tf.ones([4, 4]);
    await writeCheckpoint(dir, { w, v: tf.zeros([4]) }, { maxShardBytes: 64 });
    expect(readdirSync(dir).sort()).toEqual([
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    const written = await writeCheckpoint(dir, { w });
    expect(written.files).toEqual(["model.safetensors"]);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
    const r = await openCheckpoint(dir);
    expect(r.names()).toEqual(["w"]);
    await r.close();
    w.dispose();
  });

  const golden = sharedPath("goldens/phi3-mini-shape-tiny");
  it.skipIf(!golden)("re-shards a golden checkpoint from lazy raw bytes, bit for bit", async () => {
    const source = await openCheckpoint(golden!);
    const raw: Record<string, RawTensor> = {};
    for (const name of source.names()) {
      const { dtype, shape } = source.info(name);
      raw[name] = { dtype: dtype as RawTensor["dtype"], shape, data: () => source.readBytes(name) };
    }
    const dir = folder("phi3-resharded");
    const { files } = await writeCheckpoint(dir, raw, { maxShardBytes: 2_000_000 });
    expect(files.length).toBeGreaterThan(2);
    const copy = await openCheckpoint(dir);
    expect(new Set(copy.names())).toEqual(new Set(source.names()));
    for (const name of source.names()) {
      expect(copy.info(name)).toEqual(source.info(name));
      expect(Buffer.from(await copy.readBytes(name)).equals(Buffer.from(await source.readBytes(name)))).toBe(true);
    }
    await Promise.all([copy.close(), source.close()]);
  });
});
