/**
 * Opens a Hugging Face style checkpoint folder: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`{ "metadata": {...}, "weight_map": { "<tensor>": "<shard file>" } }`),
 * behind the one `SafetensorsReader` interface.
 */
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import type { tf } from "../tf.js";
import { openSafetensors, type SafetensorsReader, type TensorInfo } from "./safetensors/reader.js";

/** File names of a checkpoint folder, as transformers writes them. */
export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

class ShardedReader implements SafetensorsReader {
  constructor(
    readonly path: string,
    private readonly weightMap: Map<string, SafetensorsReader>,
    private readonly shards: SafetensorsReader[],
    readonly metadata: Record<string, string>,
  ) {}

  names(): string[] {
    return [...this.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  private shard(name: string): SafetensorsReader {
    const s = this.weightMap.get(name);
    if (!s)
      throw new Error(`${this.path}: no tensor named '${name}' in the weight_map (${this.weightMap.size} tensors)`);
    return s;
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  read(name: string): Promise<tf.Tensor> {
    return this.shard(name).read(name);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.shard(name).readBytes(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function openSharded(dir: string, indexPath: string): Promise<SafetensorsReader> {
  let index: { metadata?: unknown; weight_map?: unknown };
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (e) {
    throw new Error(`${indexPath}: not a readable JSON index (${(e as Error).message})`);
  }
  const map = index.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new Error(`${indexPath}: missing "weight_map" object`);
  }
  const byFile = new Map<string, SafetensorsReader>();
  const weightMap = new Map<string, SafetensorsReader>();
  try {
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== "string" || isAbsolute(file) || normalize(file).split(sep).includes("..")) {
        throw new Error(`${indexPath}: tensor '${name}' maps to ${JSON.stringify(file)}, not a file in ${dir}`);
      }
      let shard = byFile.get(file);
      if (!shard) {
        shard = await openSafetensors(join(dir, file));
        byFile.set(file, shard);
      }
      if (!shard.has(name)) throw new Error(`${indexPath}: tensor '${name}' is not in its shard ${shard.path}`);
      weightMap.set(name, shard);
    }
  } catch (e) {
    await Promise.all([...byFile.values()].map((s) => s.close()));
    throw e;
  }
  const shards = [...byFile.values()];
  const metadata = Object.assign(Object.create(null), shards[0]?.metadata) as Record<string, string>;
  if (typeof index.metadata === "object" && index.metadata !== null) {
    for (const [k, v] of Object.entries(index.metadata)) metadata[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return new ShardedReader(indexPath, weightMap, shards, metadata);
}

// Reference: transformers `load_sharded_checkpoint` (modeling_utils.py): `model.safetensors` or its index.
/**
 * Opens the weights of a checkpoint folder `dir`: `model.safetensors.index.json` (sharded) if present, else
 * `model.safetensors`. `dir` may also be a `.safetensors` file. The reader's `metadata` is the first shard's
 * `__metadata__` plus the index's `metadata` (values as strings, e.g. `total_size`).
 */
export async function openCheckpoint(dir: string): Promise<SafetensorsReader> {
  if (dir.endsWith(".safetensors") && (await isFile(dir))) return openSafetensors(dir);
  const indexPath = join(dir, INDEX_FILE);
  if (await isFile(indexPath)) return openSharded(dir, indexPath);
  const single = join(dir, SINGLE_FILE);
  if (await isFile(single)) return openSafetensors(single);
  const pickle = ["pytorch_model.bin", "pytorch_model.bin.index.json"].find((f) => existsSync(join(dir, f)));
  const hint = pickle
    ? ` (it has ${pickle}: PyTorch pickles are not read; convert them to safetensors once, see docs/real-weights.md)`
    : "";
  throw new Error(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} in this folder${hint}`);
}
