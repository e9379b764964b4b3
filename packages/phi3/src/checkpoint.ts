import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Bf16Weight, Linear, openCheckpoint, tf, writeCheckpoint, writeFolderAtomic, type Module } from "@birdvlm/core";
import { bf16Layers, type Phi3WeightDtype } from "./bf16-weights.js";
import { transposeMatrix } from "./host-transpose.js";
import { phi3ConfigFromHF, phi3ConfigToHF, type Phi3Config } from "./config.js";

/** Tensors some exporters add that carry no weights (recomputed buffers). */
const IGNORED = /\.rotary_emb\.inv_freq$/;

/** Whether a parameter is kept `[in, out]` while its checkpoint tensor is PyTorch's `[out, in]`. */
function isTransposed(name: string): boolean {
  return name.endsWith("_proj.weight") || name === "lm_head.weight";
}

/** Reads and checks `config.json` of a checkpoint folder. */
export async function readPhi3Config(dir: string): Promise<Phi3Config> {
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read the config (${(e as Error).message})`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
  return phi3ConfigFromHF(json, path);
}

/**
 * Fills `model`'s parameters from a checkpoint reader one tensor at a time (read, convert to float32,
 * transpose linear weights on the host, assign, free), so peak memory stays near the model's own size. Every missing,
 * unexpected or wrongly shaped tensor is named in one error before anything is read.
 * With `weightDtype: "bfloat16"`, the linear layers' weights (and the token embeddings, unless the head is tied
 * to them) become bf16 as they are read (a BF16 tensor's bits as stored, linear weights transposed on the host;
 * other dtypes rounded to nearest even) and their float32 variables are freed without ever being filled.
 */
export async function loadWeights(
  model: Module,
  reader: {
    path: string;
    names(): string[];
    info(name: string): { dtype?: string; shape: number[] };
    read(name: string): Promise<tf.Tensor>;
    readBytes?(name: string): Promise<Uint8Array>;
  },
  options: { tiedHead?: boolean; weightDtype?: Phi3WeightDtype } = {},
): Promise<void> {
  const params = new Map(model.namedParameters());
  const stored = new Set(
    reader.names().filter((n) => !IGNORED.test(n) && !(options.tiedHead && n === "lm_head.weight")),
  );
  const missing = [...params.keys()].filter((n) => !stored.has(n));
  const unexpected = [...stored].filter((n) => !params.has(n));
  const wrong: string[] = [];
  for (const [name, v] of params) {
    if (!stored.has(name)) continue;
    const want = isTransposed(name) ? [...v.shape.slice(0, -2), v.shape[v.rank - 1]!, v.shape[v.rank - 2]!] : v.shape;
    const got = reader.info(name).shape;
    if (got.length !== want.length || got.some((d, i) => d !== want[i]))
      wrong.push(`${name}: expected [${want}], got [${got}]`);
  }
  const problems = [
    missing.length ? `missing tensors: ${missing.join(", ")}` : "",
    unexpected.length ? `unexpected tensors: ${unexpected.join(", ")}` : "",
    wrong.length ? `wrong shapes: ${wrong.join("; ")}` : "",
  ].filter(Boolean);
  if (problems.length) throw new Error(`${reader.path}: ${problems.join(" | ")}`);
  const toBf16 = new Map(
    options.weightDtype === "bfloat16"
      ? bf16Layers(model).filter(([, l]) => l instanceof Linear || !options.tiedHead)
      : [],
  );
  for (const [name, v] of params) {
    const layer = toBf16.get(name);
    if (layer) {
      layer.useBf16(await readBf16(reader, name, layer instanceof Linear));
      continue;
    }
    let t = await reader.read(name);
    if (t.dtype !== "float32") {
      const stored = t;
      t = tf.cast(stored, "float32");
      stored.dispose();
    }
    if (isTransposed(name) && t.rank === 2) {
      const [rows, cols] = t.shape as [number, number];
      const values = (await t.data()) as Float32Array;
      t.dispose();
      t = tf.tensor2d(transposeMatrix(values, rows, cols), [cols, rows]);
    }
    v.assign(t);
    t.dispose();
  }
}

/** A weight as bf16 (a PyTorch `[out, in]` linear weight `transposed` to `[in, out]`): BF16 bits as stored, other dtypes rounded. */
async function readBf16(
  reader: {
    info(name: string): { dtype?: string; shape: number[] };
    read(name: string): Promise<tf.Tensor>;
    readBytes?(name: string): Promise<Uint8Array>;
  },
  name: string,
  transposed: boolean,
): Promise<Bf16Weight> {
  const { dtype, shape } = reader.info(name);
  const [rows, cols] = shape as [number, number];
  if (dtype === "BF16" && reader.readBytes) {
    const bytes = await reader.readBytes(name);
    const bits =
      bytes.byteOffset % 2 === 0
        ? new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols)
        : new Uint16Array(bytes.slice().buffer);
    return Bf16Weight.fromBits(bits, [rows, cols], { transpose: transposed });
  }
  const t = await reader.read(name);
  try {
    const values = t.dtype === "float32" ? ((await t.data()) as Float32Array) : Float32Array.from(await t.data());
    return transposed
      ? Bf16Weight.fromFloat32(transposeMatrix(values, rows, cols), [cols, rows])
      : Bf16Weight.fromFloat32(values, [rows, cols]);
  } finally {
    t.dispose();
  }
}

/** Loads `config.json` + weights of a folder into a model built by `build` (with cheap zero init). */
export async function loadPhi3Checkpoint<M extends Module>(
  dir: string,
  build: (config: Phi3Config) => M,
  options: { weightDtype?: Phi3WeightDtype } = {},
): Promise<M> {
  const config = await readPhi3Config(dir);
  const reader = await openCheckpoint(dir);
  const model = build(config);
  try {
    await loadWeights(model, reader, { tiedHead: config.tieWordEmbeddings, weightDtype: options.weightDtype });
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    await reader.close();
  }
  return model;
}

/**
 * Writes `config.json` and the weights (reference names and layout) as the folder `dir`: `model.safetensors`,
 * or shards with an index above `maxShardBytes` (default 5 GB, as transformers). The folder is written beside
 * `dir` and renamed into place (core's `writeFolderAtomic`): an interrupted save leaves an older `dir` intact.
 */
export async function savePhi3Checkpoint(
  model: Module & { config: Phi3Config },
  dir: string,
  options: { maxShardBytes?: number } = {},
): Promise<void> {
  const state = model.stateDict();
  try {
    await writeFolderAtomic(dir, async (tmp) => {
      await writeCheckpoint(tmp, state, options);
      await writeFile(join(tmp, "config.json"), `${JSON.stringify(phi3ConfigToHF(model.config), null, 2)}\n`);
    });
  } finally {
    for (const t of Object.values(state)) t.dispose();
  }
}
