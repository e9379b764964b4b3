/**
 * A model folder (`config.json` + `model.safetensors`, as timm and transformers write them) read over HTTP with
 * `fetch`: how a page loads a model, and Node too when given a URL. The page's `openModelFolder` takes only
 * URLs; Node's (`model-folder.ts`) takes a directory as well.
 */
import { safetensorsFromBytes, type SafetensorsReader } from "./safetensors/source-reader.js";
import type { TensorSource } from "./safetensors/writer.js";

/** The files of a model folder, wherever it is. */
export interface ModelFolder {
  /** The folder (a directory path or a URL), for messages. */
  readonly location: string;
  /** Where the file `name` is (path or URL), for messages. */
  where(name: string): string;
  /** The text of the file `name` (e.g. `config.json`); throws naming it when missing. */
  readText(name: string): Promise<string>;
  /** The weights: `model.safetensors` (and, from a directory, a sharded `model.safetensors.index.json`). */
  openWeights(): Promise<SafetensorsReader>;
}

/** What {@link writeModelFolder} writes: text files and safetensors files, by file name. */
export interface ModelFolderFiles {
  text?: Record<string, string>;
  safetensors?: Record<string, { tensors: Record<string, TensorSource>; metadata?: Record<string, string> }>;
}

/** True for a URL (`https://…`, `http://…`, `blob:`, `data:`, `file:`) rather than a path. */
export function isUrl(location: string): boolean {
  return /^(?:[a-z][a-z0-9+.-]*:\/\/|blob:|data:)/i.test(location);
}

/**
 * The model folder at `url` (a trailing `/` is added), read with `fetch`: a relative URL resolves against the
 * page. Only `model.safetensors` is fetched for the weights (whole: a page's models are small), not shards.
 */
export function fetchModelFolder(url: string, init?: RequestInit): ModelFolder {
  const base = url.endsWith("/") ? url : `${url}/`;
  const where = (name: string) => `${base}${name}`;
  const get = async (name: string): Promise<Response> => {
    const response = await fetch(where(name), init);
    if (!response.ok) throw new Error(`${where(name)}: HTTP ${response.status} ${response.statusText}`.trim());
    return response;
  };
  return {
    location: base,
    where,
    readText: async (name) => (await get(name)).text(),
    openWeights: async () =>
      safetensorsFromBytes(await (await get("model.safetensors")).arrayBuffer(), where("model.safetensors")),
  };
}

/**
 * Opens a model folder in a page: `location` is a URL (absolute, or relative to the page). Node's
 * `openModelFolder` takes a directory too.
 */
export function openModelFolder(location: string): ModelFolder {
  return fetchModelFolder(location);
}

/** In a page there are no folders to write: throws. Node's `writeModelFolder` writes the folder atomically. */
export async function writeModelFolder(dir: string, _files: ModelFolderFiles): Promise<void> {
  throw new Error(`writeModelFolder(${dir}): writing a model folder needs Node (files); a page can only load one`);
}
