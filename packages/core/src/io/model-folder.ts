/**
 * A model folder in Node: a directory (`openCheckpoint` for its weights, sharded or not) or a URL (`fetch`), and
 * writing one atomically (written beside its destination, renamed into place).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFolderAtomic } from "./atomic.js";
import { openCheckpoint } from "./open-checkpoint.js";
import { writeSafetensors } from "./safetensors/writer.js";
import { fetchModelFolder, isUrl, type ModelFolder, type ModelFolderFiles } from "./model-folder-url.js";

/** Opens a model folder: `location` is a directory, or a URL (read with `fetch`). */
export function openModelFolder(location: string): ModelFolder {
  if (isUrl(location) && !location.startsWith("file:")) return fetchModelFolder(location);
  const dir = location.startsWith("file:") ? fileURLToPath(location) : location;
  return {
    location: dir,
    where: (name) => join(dir, name),
    readText: (name) => readFile(join(dir, name), "utf8"), // fs errors name the file
    openWeights: () => openCheckpoint(dir),
  };
}

/** Writes `files` as the folder `dir`, atomically (an interrupted write leaves an older `dir` intact). */
export async function writeModelFolder(dir: string, files: ModelFolderFiles): Promise<void> {
  await writeFolderAtomic(dir, async (tmp) => {
    for (const [name, text] of Object.entries(files.text ?? {})) await writeFile(join(tmp, name), text);
    for (const [name, { tensors, metadata }] of Object.entries(files.safetensors ?? {}))
      await writeSafetensors(join(tmp, name), tensors, metadata);
  });
}
