/**
 * Checkpoint formats of a ViT: detection, the name maps (one explicit table per source format), and the
 * layout changes between the reference tensors and this package's timm-named parameters.
 */
import { openModelFolder, tf, writeModelFolder, type SafetensorsReader } from "@birdvlm/core";
import { type ViTConfig, type WeightsInfo, fromHF, fromTimm } from "./config.js";
import { toHFJson, toTimmJson } from "./config-export.js";
import { checkWeightsAgainstConfig } from "./weights-check.js";

/** The two layouts a ViT checkpoint comes in. */
export type CheckpointFormat = "timm" | "hf";

/** How one Hugging Face naming generation spells a block: its layer path, per-tensor suffixes, and the q/k/v parts. */
export interface HFBlockNaming {
  /** The blocks' path after the model prefix (`encoder.layer` in transformers 4, `layers` in 5). */
  layers: string;
  /** Block suffix → timm `Block` suffix. */
  names: ReadonlyArray<readonly [string, string]>;
  /** The query, key and value projections (each `[D, D]`), stacked in this order into timm's `attn.qkv` `[3D, D]`. */
  qkv: readonly [string, string, string];
}

/** transformers 4.x (and the hub's ViT/DeiT checkpoints): `encoder.layer.N.attention.attention.query`, ... Written by `save({ format: 'hf' })`. */
export const HF_BLOCK_NAMES: HFBlockNaming = {
  layers: "encoder.layer",
  names: [
    ["layernorm_before.weight", "norm1.weight"],
    ["layernorm_before.bias", "norm1.bias"],
    ["attention.output.dense.weight", "attn.proj.weight"],
    ["attention.output.dense.bias", "attn.proj.bias"],
    ["layernorm_after.weight", "norm2.weight"],
    ["layernorm_after.bias", "norm2.bias"],
    ["intermediate.dense.weight", "mlp.fc1.weight"],
    ["intermediate.dense.bias", "mlp.fc1.bias"],
    ["output.dense.weight", "mlp.fc2.weight"],
    ["output.dense.bias", "mlp.fc2.bias"],
  ],
  qkv: ["attention.attention.query", "attention.attention.key", "attention.attention.value"],
};

/** transformers 5.x: `layers.N.attention.{q,k,v,o}_proj`, `layers.N.mlp.fc1/fc2`. */
export const HF5_BLOCK_NAMES: HFBlockNaming = {
  layers: "layers",
  names: [
    ["layernorm_before.weight", "norm1.weight"],
    ["layernorm_before.bias", "norm1.bias"],
    ["attention.o_proj.weight", "attn.proj.weight"],
    ["attention.o_proj.bias", "attn.proj.bias"],
    ["layernorm_after.weight", "norm2.weight"],
    ["layernorm_after.bias", "norm2.bias"],
    ["mlp.fc1.weight", "mlp.fc1.weight"],
    ["mlp.fc1.bias", "mlp.fc1.bias"],
    ["mlp.fc2.weight", "mlp.fc2.weight"],
    ["mlp.fc2.bias", "mlp.fc2.bias"],
  ],
  qkv: ["attention.q_proj", "attention.k_proj", "attention.v_proj"],
};

/** Names outside the blocks: Hugging Face (after the `vit.` / `deit.` prefix) → timm. */
export const HF_TOP_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["embeddings.cls_token", "cls_token"],
  ["embeddings.distillation_token", "dist_token"],
  ["embeddings.position_embeddings", "pos_embed"],
  ["embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight"],
  ["embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias"],
  ["layernorm.weight", "norm.weight"],
  ["layernorm.bias", "norm.bias"],
];

/** The classifier, which Hugging Face keeps outside the `vit.` / `deit.` prefix. */
export const HF_HEAD_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["classifier.weight", "head.weight"],
  ["classifier.bias", "head.bias"],
];

/** DeiT's two heads (`DeiTForImageClassificationWithTeacher`). */
export const HF_DEIT_TEACHER_HEAD_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["cls_classifier.weight", "head.weight"],
  ["cls_classifier.bias", "head.bias"],
  ["distillation_classifier.weight", "head_dist.weight"],
  ["distillation_classifier.bias", "head_dist.bias"],
];

/** Hugging Face tensors with no timm counterpart that loading skips (`ViTModel`'s pooler, the MAE mask token). */
const HF_IGNORED = /^(?:(?:vit|deit)\.)?(?:pooler\.dense\.(?:weight|bias)|embeddings\.mask_token)$/;

/** A checkpoint read into timm names and layouts. */
export interface ViTCheckpoint {
  format: CheckpointFormat;
  config: ViTConfig;
  /** timm-named tensors in the reference layout (the caller disposes them). */
  tensors: Record<string, tf.Tensor>;
  /** The weights file, for error messages. */
  source: string;
}

function detectFormat(names: string[], path: string): { format: CheckpointFormat; prefix: string } {
  if (names.includes("patch_embed.proj.weight")) return { format: "timm", prefix: "" };
  for (const prefix of ["vit.", "deit.", ""]) {
    if (names.includes(`${prefix}embeddings.patch_embeddings.projection.weight`)) return { format: "hf", prefix };
  }
  throw new Error(
    `${path}: neither a timm ViT (no 'patch_embed.proj.weight') nor a Hugging Face ViT/DeiT (no '*embeddings.patch_embeddings.projection.weight') checkpoint`,
  );
}

/**
 * Reads a ViT checkpoint folder (`config.json` + `model.safetensors`, timm or Hugging Face layout) into timm names:
 * a directory in Node, or a URL (through `fetch`, in Node or a page).
 */
export async function readViTCheckpoint(dir: string): Promise<ViTCheckpoint> {
  const folder = openModelFolder(dir);
  const configPath = folder.where("config.json");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await folder.readText("config.json")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error(`${configPath}: expected a JSON object, got ${json === null ? "null" : typeof json}`);
  const reader = await folder.openWeights();
  try {
    const names = reader.names();
    const { format, prefix } = detectFormat(names, reader.path);
    const tensors = Object.create(null) as Record<string, tf.Tensor>;
    try {
      if (format === "timm") {
        for (const n of names) tensors[n] = await reader.read(n);
      } else {
        await readHF(reader, names, prefix, tensors);
      }
      const info = weightsInfo(tensors);
      const display = format === "timm" ? (n: string) => n : hfDisplayName(names, prefix);
      const shapeOf = (n: string) => tensors[n]?.shape;
      checkWeightsAgainstConfig(format, json, info, shapeOf, configPath, reader.path, display);
      const config = format === "timm" ? fromTimm(json, info, configPath) : fromHF(json, info, configPath);
      return { format, config, tensors, source: reader.path };
    } catch (e) {
      Object.values(tensors).forEach((t) => t.dispose());
      throw e;
    }
  } finally {
    await reader.close();
  }
}

/** How a Hugging Face file spells a timm name (for error messages): `blocks.0.mlp.fc1.weight` → `vit.encoder.layer.0.intermediate.dense.weight`. */
function hfDisplayName(names: string[], prefix: string): (timm: string) => string {
  const naming = names.some((n) => n.startsWith(`${prefix}${HF5_BLOCK_NAMES.layers}.`))
    ? HF5_BLOCK_NAMES
    : HF_BLOCK_NAMES;
  return (timm) => {
    const top = HF_TOP_NAMES.find(([, t]) => t === timm);
    if (top) return prefix + top[0];
    const head = HF_HEAD_NAMES.find(([, t]) => t === timm);
    if (head) return head[0];
    const m = /^blocks\.(\d+)\.(.*)$/.exec(timm);
    const block = m && naming.names.find(([, t]) => t === m[2]);
    return block ? `${prefix}${naming.layers}.${m![1]}.${block[0]}` : timm;
  };
}

async function readHF(
  reader: SafetensorsReader,
  names: string[],
  prefix: string,
  out: Record<string, tf.Tensor>,
): Promise<void> {
  const used = new Set<string>();
  const take = async (hf: string, timm: string) => {
    if (!reader.has(hf)) return;
    out[timm] = await reader.read(hf);
    used.add(hf);
  };
  for (const [hf, timm] of HF_TOP_NAMES) await take(prefix + hf, timm);
  for (const [hf, timm] of [...HF_HEAD_NAMES, ...HF_DEIT_TEACHER_HEAD_NAMES]) await take(hf, timm);
  for (const naming of [HF_BLOCK_NAMES, HF5_BLOCK_NAMES]) {
    const layer = new RegExp(`^${prefix.replace(".", "\\.")}${naming.layers.replace(".", "\\.")}\\.(\\d+)\\.`);
    const depth = names.reduce((m, n) => Math.max(m, Number(layer.exec(n)?.[1] ?? -1) + 1), 0);
    for (let i = 0; i < depth; i++) {
      const base = `${prefix}${naming.layers}.${i}.`;
      for (const [hf, timm] of naming.names) await take(base + hf, `blocks.${i}.${timm}`);
      for (const kind of ["weight", "bias"]) {
        const parts = naming.qkv.map((p) => `${base}${p}.${kind}`);
        const present = parts.filter((p) => reader.has(p));
        if (present.length === 0) continue;
        if (present.length !== 3)
          throw new Error(
            `${reader.path}: layer ${i} has ${present.join(", ")} but not all of query/key/value ${kind}`,
          );
        const loaded = await Promise.all(parts.map((p) => reader.read(p)));
        try {
          const shapes = loaded.map((t) => `[${t.shape.join(", ")}]`);
          if (new Set(shapes).size !== 1 || loaded[0]!.rank !== (kind === "weight" ? 2 : 1))
            throw new Error(
              `${reader.path}: layer ${i}'s query/key/value ${kind}s must have one ${kind === "weight" ? "[D, D]" : "[D]"} shape: ` +
                parts.map((p, k) => `'${p}' ${shapes[k]}`).join(", "),
            );
          out[`blocks.${i}.attn.qkv.${kind}`] = tf.concat(loaded, 0);
        } finally {
          loaded.forEach((t) => t.dispose());
        }
        parts.forEach((p) => used.add(p));
      }
    }
  }
  const unknown = names.filter((n) => !used.has(n) && !HF_IGNORED.test(n));
  if (unknown.length) throw new Error(`${reader.path}: tensors with no ViT counterpart: ${unknown.join(", ")}`);
}

/** What the shapes of timm-named tensors say about the model (they win over config.json). */
export function weightsInfo(t: Record<string, tf.Tensor>): WeightsInfo {
  const info: WeightsInfo = {};
  const patch = t["patch_embed.proj.weight"];
  if (patch)
    Object.assign(info, { hiddenSize: patch.shape[0], numChannels: patch.shape[1], patchSize: patch.shape[2] });
  // A hierarchical stem: stride-2 stages before the last convolution, so the patch is 2^n times its kernel.
  const stem: tf.Tensor[] = [];
  for (let i = 0; t[`patch_embed.stem.${i}.proj.weight`]; i++) stem.push(t[`patch_embed.stem.${i}.proj.weight`]!);
  info.stemWidths = stem.map((w) => w.shape[0]!);
  if (stem.length) {
    info.numChannels = stem[0]!.shape[1];
    if (stem[0]!.rank === 4) info.stemKernel = stem[0]!.shape[2];
    if (info.patchSize !== undefined) info.patchSize *= 2 ** stem.length;
  }
  // Shifted patch tokenization: the patch norm, and five copies of the image's channels.
  info.shiftedPatches = "patch_embed.norm.weight" in t;
  if (info.shiftedPatches && info.numChannels !== undefined && info.numChannels % 5 === 0) info.numChannels /= 5;
  info.classToken = "cls_token" in t;
  info.distillationToken = "dist_token" in t;
  info.distillationHead = "head_dist.weight" in t;
  info.fcNorm = "fc_norm.weight" in t && !("norm.weight" in t);
  const pos = t["pos_embed"];
  if (pos) {
    const square = (n: number) => Math.round(Math.sqrt(n)) ** 2 === n;
    const prefix = (info.classToken ? 1 : 0) + (info.distillationToken ? 1 : 0);
    // timm `no_embed_class`: the position embeddings cover the patches only.
    info.noEmbedClass = prefix > 0 && !square(pos.shape[1]! - prefix) && square(pos.shape[1]!);
    const n = pos.shape[1]! - (info.noEmbedClass ? 0 : prefix);
    // not square: no grid, and checkWeightsAgainstConfig names the tensor
    if (square(n)) info.grid = Math.round(Math.sqrt(n));
  }
  const blocks = Object.keys(t)
    .map((n) => /^blocks\.(\d+)\./.exec(n)?.[1])
    .filter((x): x is string => x !== undefined);
  info.depth = blocks.reduce((m, i) => Math.max(m, Number(i) + 1), 0);
  const fc1 = t["blocks.0.mlp.fc1.weight"];
  if (fc1) info.mlpSize = fc1.shape[0];
  info.mlpConvKernel = t["blocks.0.mlp.dwconv.weight"]?.shape[2] ?? 0;
  info.qkvBias = info.depth === 0 || "blocks.0.attn.qkv.bias" in t;
  info.layerScale = "blocks.0.ls1.gamma" in t;
  info.numClasses = t["head.weight"]?.shape[0] ?? 0;
  info.attentionPool = "attn_pool.latent" in t;
  return info;
}

/**
 * Writes a checkpoint folder atomically: `config.json` and `model.safetensors` in timm's layout, or in
 * Hugging Face's (`ViTForImageClassification` with a head, `ViTModel` without; `DeiT*` with a distillation token). `tensors` are timm-named
 * reference tensors (`VisionTransformer.stateDict()`); they stay owned by the caller.
 */
export async function writeViTCheckpoint(
  dir: string,
  config: ViTConfig,
  tensors: Record<string, tf.Tensor>,
  format: CheckpointFormat,
): Promise<void> {
  const json = format === "timm" ? toTimmJson(config) : toHFJson(config);
  const text = { "config.json": `${JSON.stringify(json, null, 2)}\n` };
  if (format === "timm") {
    await writeModelFolder(dir, {
      text,
      safetensors: { "model.safetensors": { tensors, metadata: { format: "pt" } } },
    });
    return;
  }
  const hf = toHFNames(tensors, config);
  try {
    await writeModelFolder(dir, {
      text,
      safetensors: { "model.safetensors": { tensors: hf.tensors, metadata: { format: "pt" } } },
    });
  } finally {
    hf.created.forEach((t) => t.dispose());
  }
}

function toHFNames(
  t: Record<string, tf.Tensor>,
  config: ViTConfig,
): { tensors: Record<string, tf.Tensor>; created: tf.Tensor[] } {
  const prefix = config.numClasses > 0 ? (config.distillationToken ? "deit." : "vit.") : "";
  const out: Record<string, tf.Tensor> = {};
  const created: tf.Tensor[] = [];
  const put = (hf: string, timm: string) => {
    const v = t[timm];
    if (!v) throw new Error(`toHF: missing '${timm}'`);
    out[hf] = v;
  };
  for (const [hf, timm] of HF_TOP_NAMES) if (timm !== "dist_token" || config.distillationToken) put(prefix + hf, timm);
  if (config.numClasses > 0)
    for (const [hf, timm] of config.distillationHead ? HF_DEIT_TEACHER_HEAD_NAMES : HF_HEAD_NAMES) put(hf, timm);
  const naming = HF_BLOCK_NAMES;
  for (let i = 0; i < config.depth; i++) {
    const base = `${prefix}${naming.layers}.${i}.`;
    for (const [hf, timm] of naming.names) put(base + hf, `blocks.${i}.${timm}`);
    for (const kind of config.qkvBias ? ["weight", "bias"] : ["weight"]) {
      const parts = tf.split(t[`blocks.${i}.attn.qkv.${kind}`]!, 3, 0);
      naming.qkv.forEach((p, j) => (out[`${base}${p}.${kind}`] = parts[j]!));
      created.push(...parts);
    }
  }
  return { tensors: out, created };
}
