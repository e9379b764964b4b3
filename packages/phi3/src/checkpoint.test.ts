import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, writeCheckpoint, type RawTensor } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { phi3ConfigToHF } from "./config.js";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

/** float32 tensor → BF16 bytes (round to nearest even), as torch stores bfloat16. */
function toBF16(t: tf.Tensor): RawTensor {
  const f = t.dataSync() as Float32Array;
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return { dtype: "BF16", shape: [...t.shape], data: new Uint8Array(out.buffer) };
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe("Phi3ForCausalLM checkpoints", async () => {
  const root = await mkdtemp(join(tmpdir(), "phi3-ckpt-"));
  afterAll(() => rm(root, { recursive: true, force: true }));
  const lm = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2, slidingWindow: 8 }), { seed: 21 });
  const x = tf.tensor2d([[3, 1, 4, 1, 5, 9]], [1, 6], "int32");
  afterAll(() => {
    lm.dispose();
    x.dispose();
  });

  it("saves and loads back the same model (single file and shards)", async () => {
    const want = lm.forward(x).logits;
    for (const [name, maxShardBytes] of [
      ["single", undefined],
      ["sharded", 4000],
    ] as const) {
      const dir = join(root, name);
      await lm.save(dir, { maxShardBytes });
      const files = await readdir(dir);
      expect(files.includes("model.safetensors.index.json")).toBe(name === "sharded");
      const back = await Phi3ForCausalLM.load(dir);
      expect(back.config).toEqual(lm.config);
      const got = back.forward(x).logits;
      expect(maxDiff(want, got)).toBe(0);
      got.dispose();
      back.dispose();
    }
    want.dispose();
  });

  it("loads BF16 checkpoints as float32", async () => {
    const dir = join(root, "bf16");
    const state = lm.stateDict();
    const raw = Object.fromEntries(Object.entries(state).map(([n, t]) => [n, toBF16(t)]));
    await mkdir(dir, { recursive: true });
    await writeCheckpoint(dir, raw, { maxShardBytes: 3000 });
    await writeFile(join(dir, "config.json"), JSON.stringify(phi3ConfigToHF(lm.config)));
    const back = await Phi3ForCausalLM.load(dir);
    const name = "model.layers.1.self_attn.qkv_proj.weight";
    const loaded = back.stateDict();
    const err = maxDiff(loaded[name]!, state[name]!);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.01);
    tf.dispose([...Object.values(state), ...Object.values(loaded)]);
    back.dispose();
  });

  it("names a missing tensor, an unexpected one and a wrong shape", async () => {
    const state = lm.stateDict();
    const bad = (edit: (s: Record<string, tf.Tensor>) => void) => {
      const s = { ...state };
      edit(s);
      return s;
    };
    const cases: Array<[string, Record<string, tf.Tensor>, RegExp]> = [
      [
        "missing",
        bad((s) => delete s["model.layers.0.mlp.down_proj.weight"]),
        /missing tensors: model\.layers\.0\.mlp\.down_proj\.weight/,
      ],
      [
        "unexpected",
        bad((s) => (s["model.extra.weight"] = state["model.norm.weight"]!)),
        /unexpected tensors: model\.extra\.weight/,
      ],
      [
        "shape",
        bad((s) => (s["model.layers.1.self_attn.o_proj.weight"] = state["model.layers.0.mlp.gate_up_proj.weight"]!)),
        /wrong shapes: model\.layers\.1\.self_attn\.o_proj\.weight: expected \[16,16\], got \[64,16\]/,
      ],
    ];
    for (const [name, tensors, message] of cases) {
      const dir = join(root, name);
      await mkdir(dir, { recursive: true });
      await writeCheckpoint(dir, tensors);
      await writeFile(join(dir, "config.json"), JSON.stringify(phi3ConfigToHF(lm.config)));
      await expect(Phi3ForCausalLM.load(dir)).rejects.toThrow(message);
    }
    const noConfig = join(root, "no-config");
    await mkdir(noConfig, { recursive: true });
    await expect(Phi3ForCausalLM.load(noConfig)).rejects.toThrow(/no-config\/config\.json: cannot read/);
    tf.dispose(Object.values(state));
  });
});

describe("Phi3ForCausalLM.save", () => {
  it("leaves the old folder intact when a save fails part way (and no temporary folder behind)", async () => {
    const root = await mkdtemp(join(tmpdir(), "phi3-atomic-"));
    const dir = join(root, "lm");
    const lm = new Phi3ForCausalLM(tinyConfig(), { seed: 3 });
    try {
      await lm.save(dir, { maxShardBytes: 4000 });
      const files = (await readdir(dir)).sort();
      const index = await readFile(join(dir, "model.safetensors.index.json"), "utf8");
      const state = lm.stateDict();
      const [last] = Object.keys(state).slice(-1);
      state[last!]!.dispose();
      // the first shards are written, then the writer meets a freed tensor and throws
      const failing = new Phi3ForCausalLM(tinyConfig(), { seed: 4 });
      failing.stateDict = () => state;
      await expect(failing.save(dir, { maxShardBytes: 4000 })).rejects.toThrow();
      expect(await readdir(root)).toEqual(["lm"]);
      expect((await readdir(dir)).sort()).toEqual(files);
      expect(await readFile(join(dir, "model.safetensors.index.json"), "utf8")).toBe(index);
      const back = await Phi3ForCausalLM.load(dir);
      const x = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
      const [a, b] = [lm.forward(x).logits, back.forward(x).logits];
      expect(maxDiff(a, b)).toBe(0);
      tf.dispose([x, a, b]);
      failing.dispose();
      back.dispose();
    } finally {
      lm.dispose();
      await rm(root, { recursive: true, force: true });
    }
  });
});
