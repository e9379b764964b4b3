import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tf, writeSafetensors } from "@birdvlm/core";
import { Phi3ForCausalLM, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { loadProjector } from "@birdvlm/projector";
import { VisionTransformer } from "@birdvlm/vit";
import { BirdVLM } from "./birdvlm.js";
import { readProvenanceFile } from "./provenance.js";
import { tinyVlm } from "./testing/tiny-parts.js";

const tok = buildWordLevelTokenizer(["a red bird"], { extraSpecialTokens: ["<|image_pad|>"] });

describe("a BirdVLM folder from a stranger", () => {
  let root: string;
  let saved: string;
  let n = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "birdvlm-folder-"));
    saved = join(root, "saved");
    const vlm = tinyVlm(tok, 3);
    await vlm.save(saved);
    vlm.dispose();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A copy of the saved folder, edited by `edit`. */
  async function copy(edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(root, `case-${n++}`);
    await cp(saved, dir, { recursive: true });
    await edit(dir);
    return dir;
  }

  /** Loading fails with `message` and leaves no tensor behind. */
  async function refuses(load: () => Promise<{ dispose(): void }>, message: RegExp): Promise<void> {
    const before = tf.memory().numTensors;
    await expect(load()).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  }

  it("a failed load frees every part it built (the LM, the projector or LoRA failing last)", async () => {
    const badLm = await copy((d) => writeFile(join(d, "lm", "model.safetensors"), "not safetensors"));
    await refuses(() => BirdVLM.load(badLm), /lm.*model\.safetensors/);
    const badTok = await copy((d) => rm(join(d, "tokenizer"), { recursive: true }));
    await refuses(() => BirdVLM.load(badTok), /tokenizer/);
    const badProjector = await copy(async (d) => {
      const w = { "fc1.weight": tf.zeros([2, 2]) };
      await writeSafetensors(join(d, "projector", "model.safetensors"), w);
      tf.dispose(Object.values(w));
    });
    await refuses(() => BirdVLM.load(badProjector), /projector.*model\.safetensors/);
  });

  it("each part's own loader frees what it built when the weights are wrong", async () => {
    const lmDir = await copy(async (d) => {
      const w = { "model.norm.weight": tf.zeros([3]) };
      await writeSafetensors(join(d, "lm", "model.safetensors"), w);
      tf.dispose(Object.values(w));
    });
    await refuses(() => Phi3ForCausalLM.load(join(lmDir, "lm")), /model\.safetensors/);
    await refuses(() => loadProjector(join(lmDir, "lm")), /./);
    await refuses(() => VisionTransformer.load(join(lmDir, "lm")), /./);
  });

  it("part paths in config.json stay inside the folder", async () => {
    const dir = await copy(async (d) => {
      const c = JSON.parse(await readFile(join(d, "config.json"), "utf8"));
      c.projector.path = "../saved/projector";
      await writeFile(join(d, "config.json"), JSON.stringify(c));
    });
    await refuses(() => BirdVLM.load(dir), /config\.json: projector\.path .*leads outside/);
    const missing = await copy(async (d) => {
      const c = JSON.parse(await readFile(join(d, "config.json"), "utf8"));
      delete c.encoder;
      await writeFile(join(d, "config.json"), JSON.stringify(c));
    });
    await refuses(() => BirdVLM.load(missing), /config\.json: encoder\.path is missing/);
  });

  it("provenance fails closed: corrupt is an error naming the file, missing is one warning that the guard is off", async () => {
    const corrupt = await copy((d) => writeFile(join(d, "provenance.json"), '{"parts": {"encoder": [{"stage": '));
    await refuses(() => BirdVLM.load(corrupt), /provenance\.json: the provenance is not valid JSON/);
    const wrongShape = await copy((d) =>
      writeFile(join(d, "provenance.json"), '{"parts": {"encoder": [{"stage": "x"}]}}'),
    );
    await refuses(
      () => BirdVLM.load(wrongShape),
      /provenance\.json: the provenance is corrupt: parts\.encoder\[0\]\.dataset/,
    );
    await expect(readProvenanceFile(join(root, "nowhere.json"))).resolves.toEqual({ parts: {} });

    const missing = await copy((d) => rm(join(d, "provenance.json")));
    const warnings: string[] = [];
    const spy = vi.spyOn(process, "emitWarning").mockImplementation((w: string | Error) => {
      warnings.push(String(w));
    });
    try {
      const vlm = await BirdVLM.load(missing);
      expect(vlm.provenance).toEqual({ parts: {} });
      vlm.dispose();
    } finally {
      spy.mockRestore();
    }
    expect(warnings.filter((w) => /provenance\.json is missing.*guard is off/.test(w))).toHaveLength(1);
  });
});
