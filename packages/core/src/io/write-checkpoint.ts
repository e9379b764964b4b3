/**
 * Writes checkpoint weights the way transformers' `save_pretrained` does: one `model.safetensors`, or, above
 * `maxShardBytes`, shards `model-00001-of-0000N.safetensors` plus `model.safetensors.index.json`.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { INDEX_FILE, SINGLE_FILE } from "./open-checkpoint.js";
import { storedBytes, writeSafetensors, type TensorSource } from "./safetensors/writer.js";
import { writeJsonAtomic } from "./atomic.js";

/** Options of `writeCheckpoint`. */
export interface WriteCheckpointOptions {
  /** Largest shard in bytes (a larger single tensor gets a shard of its own). Default 5e9, transformers' "5GB". */
  maxShardBytes?: number;
  /** `__metadata__` of every shard, added to the default `{ format: "pt" }` that transformers expects. */
  metadata?: Record<string, string>;
}

/** What `writeCheckpoint` wrote. */
export interface WrittenCheckpoint {
  /** File names written in `dir` (shards, then the index if sharded). */
  files: string[];
  /** Bytes of tensor data over all shards (the index's `total_size`). */
  totalBytes: number;
}

const WEIGHT_FILE = /^model(-\d{5}-of-\d{5})?\.safetensors$/;

/** Splits tensors into shards in order, as huggingface_hub's `split_state_dict_into_shards` does. */
function planShards(names: string[], sizes: number[], maxShardBytes: number): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  names.forEach((name, i) => {
    const size = sizes[i]!;
    if (size > maxShardBytes) {
      shards.push([name]);
      return;
    }
    if (currentBytes + size > maxShardBytes && current.length > 0) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(name);
    currentBytes += size;
  });
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

// Reference: transformers `PreTrainedModel.save_pretrained` with huggingface_hub `split_torch_state_dict_into_shards`.
/**
 * Writes `tensors` (reference names → tensors or raw bytes) into the existing folder `dir` as
 * `model.safetensors`, or as shards of at most `maxShardBytes` with a `model.safetensors.index.json`
 * (`{ metadata: { total_size }, weight_map }`, keys sorted). Shards are written one tensor at a time, each
 * file atomically; the index is written after its shards, and weight files of an older save are removed last.
 * For a whole folder that appears at once, call it inside `writeFolderAtomic`.
 */
export async function writeCheckpoint(
  dir: string,
  tensors: Record<string, TensorSource>,
  options: WriteCheckpointOptions = {},
): Promise<WrittenCheckpoint> {
  const maxShardBytes = options.maxShardBytes ?? 5e9;
  if (!(maxShardBytes > 0))
    throw new Error(`writeCheckpoint(${dir}): maxShardBytes must be positive, got ${maxShardBytes}`);
  const metadata = { format: "pt", ...options.metadata };
  const names = Object.keys(tensors);
  const sizes = names.map((n) => storedBytes(tensors[n]!));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const shards = planShards(names, sizes, maxShardBytes);

  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const n = String(shards.length).padStart(5, "0");
    const file = shards.length === 1 ? SINGLE_FILE : `model-${String(i + 1).padStart(5, "0")}-of-${n}.safetensors`;
    await writeSafetensors(join(dir, file), Object.fromEntries(shard.map((name) => [name, tensors[name]!])), metadata);
    files.push(file);
    for (const name of shard) weightMap[name] = file;
  }
  if (shards.length > 1) {
    const sorted = Object.fromEntries(
      Object.keys(weightMap)
        .sort()
        .map((k) => [k, weightMap[k]!]),
    );
    await writeJsonAtomic(join(dir, INDEX_FILE), { metadata: { total_size: totalBytes }, weight_map: sorted });
    files.push(INDEX_FILE);
  }
  for (const old of await readdir(dir)) {
    const stale = (WEIGHT_FILE.test(old) || old === INDEX_FILE) && !files.includes(old);
    if (stale) await rm(join(dir, old), { force: true });
  }
  return { files, totalBytes };
}
