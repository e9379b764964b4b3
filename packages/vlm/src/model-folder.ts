import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import {
  writeFolderAtomic,
  writeJsonAtomic,
  type CausalLanguageModel,
  type Connector,
  type TextTokenizer,
  type VisionEncoder,
} from "@birdvlm/core";
import { VisionTransformer } from "@birdvlm/vit";
import { loadProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, Phi3Tokenizer, loadLoRA, loraAdaptersOf, type Phi3WeightDtype } from "@birdvlm/phi3";
import { escapingPathReason } from "@birdvlm/data";
import { readProvenanceFile, type Provenance } from "./provenance.js";

/** `config.json` of a saved BirdVLM folder. */
export interface BirdVLMFolderConfig {
  format: "birdvlm";
  version: 1;
  imageTokens: number;
  imageMarker: string;
  encoder: { type: "vit"; path: string };
  projector: { path: string };
  /** A copy in `path`, or — when the LM is frozen and unchanged — a `reference` to its folder and the checksum of its weights. */
  lm: { type: "phi3"; path: string } | { type: "phi3"; reference: string; sha256: string };
  tokenizer: { path: string };
  /** LoRA adapters on the LM (PEFT layout), when a stage trained some. */
  lora?: { path: string };
  /** Dataset images were cropped to their bounding boxes in training (evaluation does the same). */
  cropToBox?: boolean;
}

/**
 * A BirdVLM folder's contents: the parts and settings `BirdVLM.create` composes, and the state a model carries
 * (where its LM came from, whether images are cropped to their boxes, which images trained each part).
 * `BirdVLM` itself fits this shape.
 */
export interface BirdVLMFolder {
  encoder: VisionEncoder;
  connector: Connector;
  lm: CausalLanguageModel;
  tokenizer: TextTokenizer;
  /** Image tokens K per prompt. */
  imageTokens: number;
  /** The reserved token used as image marker. */
  marker: { token: string };
  /** The folder and weights checksum of an LM that is referenced rather than copied. */
  lmSource: { dir: string; sha256: string } | undefined;
  cropToBox: boolean;
  provenance: Provenance;
}

/**
 * Writes a BirdVLM (or its parts) as a folder (atomically): `config.json`, `encoder/`, `projector/`, `tokenizer/`,
 * `provenance.json`, and `lm/` — or, when the LM was loaded from a folder and no stage changed it, a reference to
 * that folder with the SHA-256 of its weights instead of a copy — plus `lora/` when LoRA adapters were trained.
 */
export async function writeBirdVLMFolder(dir: string, vlm: BirdVLMFolder): Promise<void> {
  await writeFolderAtomic(resolve(dir), async (tmp) => {
    await vlm.encoder.save(join(tmp, "encoder"));
    // the encoder folder carries its own training records, so a model built from it later still knows them
    await writeJsonAtomic(join(tmp, "encoder", "provenance.json"), {
      parts: { encoder: vlm.provenance.parts.encoder ?? [] },
    });
    await vlm.connector.save(join(tmp, "projector"));
    await vlm.tokenizer.save(join(tmp, "tokenizer"));
    let lm: BirdVLMFolderConfig["lm"];
    if (vlm.lmSource) {
      lm = { type: "phi3", reference: resolve(vlm.lmSource.dir), sha256: vlm.lmSource.sha256 };
    } else {
      await vlm.lm.save(join(tmp, "lm"));
      lm = { type: "phi3", path: "lm" };
    }
    const adapters = vlm.lm instanceof Phi3ForCausalLM ? loraAdaptersOf(vlm.lm) : undefined;
    if (adapters) await adapters.save(join(tmp, "lora"));
    const config: BirdVLMFolderConfig = {
      format: "birdvlm",
      version: 1,
      imageTokens: vlm.imageTokens,
      imageMarker: vlm.marker.token,
      encoder: { type: "vit", path: "encoder" },
      projector: { path: "projector" },
      lm,
      tokenizer: { path: "tokenizer" },
      cropToBox: vlm.cropToBox,
      ...(adapters ? { lora: { path: "lora" } } : {}),
    };
    await writeJsonAtomic(join(tmp, "config.json"), config);
    await writeJsonAtomic(join(tmp, "provenance.json"), vlm.provenance);
  });
}

/** Options of {@link readBirdVLMFolder} (and `BirdVLM.load`). */
export interface LoadBirdVLMOptions {
  /**
   * `"bfloat16"`: keep the language model's linear weights as bf16, for inference only (half the memory and the
   * bytes each decoded token reads; exact for a BF16 checkpoint, rounded otherwise). Default `"float32"`.
   */
  lmWeightDtype?: Phi3WeightDtype;
}

/**
 * Reads a folder written by `writeBirdVLMFolder` into its parts (`BirdVLM.load` composes them); a referenced LM
 * must still have the recorded checksum.
 */
export async function readBirdVLMFolder(dir: string, options: LoadBirdVLMOptions = {}): Promise<BirdVLMFolder> {
  const configPath = join(dir, "config.json");
  let config: BirdVLMFolderConfig;
  try {
    config = JSON.parse(await readFile(configPath, "utf8")) as BirdVLMFolderConfig;
  } catch (e) {
    throw new Error(
      `BirdVLM.load: cannot read ${configPath} (${(e as Error).message}); is ${dir} a folder written by vlm.save?`,
    );
  }
  if (typeof config !== "object" || config === null || config.format !== "birdvlm")
    throw new Error(`BirdVLM.load: ${configPath} is not a BirdVLM config (format '${String(config?.format)}')`);
  /** A part's folder inside `dir`, from config field `field` (a relative path that stays inside). */
  const part = (field: string, value: { path?: unknown } | undefined): string => {
    const path = value?.path;
    const bad = typeof path !== "string" ? "is missing" : escapingPathReason(path);
    if (bad) throw new Error(`BirdVLM.load: ${configPath}: ${field}.path ${bad}`);
    return join(dir, path as string);
  };
  const built: Array<{ dispose(): void }> = [];
  const keep = <T extends { dispose(): void }>(x: T): T => (built.push(x), x);
  try {
    const provenance = await readProvenanceFile(join(dir, "provenance.json"));
    const encoder = keep(await VisionTransformer.load(part("encoder", config.encoder)));
    const connector = keep(await loadProjector(part("projector", config.projector)));
    let lmDir: string;
    let lmSource: BirdVLMFolder["lmSource"];
    if (config.lm && "reference" in config.lm) {
      lmDir = isAbsolute(config.lm.reference) ? config.lm.reference : resolve(dir, config.lm.reference);
      const sum = await checksumWeights(lmDir);
      if (sum !== config.lm.sha256) {
        throw new Error(
          `BirdVLM.load: the language model at ${lmDir} has checksum ${sum}, but ${configPath} was saved with ${config.lm.sha256}: restore that checkpoint or save the BirdVLM again with the LM copied`,
        );
      }
      lmSource = { dir: lmDir, sha256: sum };
    } else {
      lmDir = part("lm", config.lm);
    }
    const lm = keep(await Phi3ForCausalLM.load(lmDir, { weightDtype: options.lmWeightDtype ?? "float32" }));
    if (config.lora) await loadLoRA(lm, part("lora", config.lora));
    const tokenizer: TextTokenizer = await Phi3Tokenizer.load(part("tokenizer", config.tokenizer));
    return {
      encoder,
      connector,
      lm,
      tokenizer,
      imageTokens: config.imageTokens,
      marker: { token: config.imageMarker },
      lmSource,
      cropToBox: config.cropToBox ?? false,
      provenance,
    };
  } catch (e) {
    built.forEach((x) => x.dispose()); // a failed load frees the parts it built
    throw e;
  }
}

/** SHA-256 over a checkpoint folder's `config.json` and `*.safetensors` files (streamed; names sorted). */
export async function checksumWeights(dir: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".safetensors") || n === "config.json").sort();
  } catch {
    throw new Error(`checksum: ${dir} is not a readable folder`);
  }
  if (!names.some((n) => n.endsWith(".safetensors"))) throw new Error(`checksum: no .safetensors file in ${dir}`);
  const h = createHash("sha256");
  for (const n of names) {
    h.update(`${n}\0${(await stat(join(dir, n))).size}\0`);
    for await (const chunk of createReadStream(join(dir, n))) h.update(chunk as Buffer);
  }
  return h.digest("hex");
}
