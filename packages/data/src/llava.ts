import { createReadStream, createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { once } from "node:events";
import { createInterface } from "node:readline";
import streamArray from "stream-json/streamers/stream-array.js";
import { DataFormatError } from "./data-format-error.js";
import { findJsonSyntaxError } from "./json-syntax.js";
import { checkRegularFile, escapingPathReason } from "./listed-path.js";

/** One turn of a LLaVA conversation. */
export interface LlavaTurn {
  from: "human" | "gpt";
  value: string;
}

/**
 * A record in the LLaVA `conversations` format (CC3M-595K `chat.json`, `llava_instruct_*.json`): an id, an
 * optional image path (relative to an image folder), and turns that alternate human / gpt. The `<image>`
 * placeholder marks where the image goes, at most once per record (by convention in the first human turn).
 * Other fields of a record are kept as they are.
 */
export interface LlavaRecord {
  id: string;
  image?: string;
  conversations: LlavaTurn[];
  [extra: string]: unknown;
}

/** The image placeholder of the LLaVA format. */
export const IMAGE_PLACEHOLDER = "<image>";

/** Options of {@link readLlavaConversations}. */
export interface ReadLlavaOptions {
  /**
   * Turns each raw record into the LLaVA shape before it is validated, for files in a neighbouring format
   * (e.g. `{ id, image, instruction, output }`). `index` is the 0-based record number.
   */
  map?: (raw: unknown, index: number) => unknown;
}

/** Options of {@link writeLlavaConversations}. */
export interface WriteLlavaOptions {
  /** `json` (one array) or `jsonl` (one record per line). Default: `jsonl` when the path ends in `.jsonl`. */
  format?: "json" | "jsonl";
}

/**
 * Checks one record of the LLaVA format and returns it normalized (a numeric id becomes a string); throws a
 * {@link DataFormatError} naming the file, the record index (0-based) and, for jsonl, the line. The `image` path
 * must stay inside the image folder it is relative to (relative, no `..` climbing out of it).
 */
export function validateLlavaRecord(raw: unknown, path: string, index: number, line?: number): LlavaRecord {
  const fail = (reason: string): never => {
    throw new DataFormatError(path, `record ${index}${idOf(raw)}: ${reason}`, line);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`expected an object, got ${describe(raw)}`);
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== "string" && typeof r.id !== "number") fail(`'id' must be a string, got ${describe(r.id)}`);
  if (r.image !== undefined && typeof r.image !== "string")
    fail(`'image' must be a string path, got ${describe(r.image)}`);
  if (typeof r.image === "string") {
    const escape = escapingPathReason(r.image);
    if (escape) fail(`'image': ${escape}`);
  }
  if (!Array.isArray(r.conversations) || r.conversations.length === 0)
    fail(`'conversations' must be a non-empty array, got ${describe(r.conversations)}`);
  let placeholders = 0;
  (r.conversations as unknown[]).forEach((t, k) => {
    if (typeof t !== "object" || t === null) fail(`conversations[${k}] must be an object, got ${describe(t)}`);
    const turn = t as Record<string, unknown>;
    if (turn.from !== "human" && turn.from !== "gpt")
      fail(`conversations[${k}].from must be 'human' or 'gpt', got ${describe(turn.from)}`);
    if (typeof turn.value !== "string") fail(`conversations[${k}].value must be a string, got ${describe(turn.value)}`);
    placeholders += (turn.value as string).split(IMAGE_PLACEHOLDER).length - 1;
  });
  if (placeholders > 1) fail(`has ${placeholders} ${IMAGE_PLACEHOLDER} placeholders; at most one per record`);
  if (placeholders === 1 && r.image === undefined) fail(`has an ${IMAGE_PLACEHOLDER} placeholder but no 'image' field`);
  return { ...r, id: String(r.id) } as LlavaRecord;
}

/**
 * Streams the records of a LLaVA-format file, a JSON array (parsed incrementally with stream-json) or JSON
 * Lines (read line by line), of any size: memory stays bounded by one record, never the whole file.
 * Each record is validated ({@link validateLlavaRecord}); errors name the file and record index, and a JSON
 * syntax error its byte offset, line and column. Only a regular file is read.
 *
 * ```ts
 * for await (const rec of readLlavaConversations("chat.json")) console.log(rec.id, rec.conversations[0].value);
 * ```
 */
export async function* readLlavaConversations(
  path: string,
  options: ReadLlavaOptions = {},
): AsyncGenerator<LlavaRecord> {
  await checkRegularFile(path);
  const kind = await sniffFormat(path);
  const map = options.map ?? ((x: unknown) => x);
  if (kind === "jsonl") {
    const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
    let line = 0;
    let index = 0;
    for await (const text of lines) {
      line++;
      if (text.trim() === "") continue;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new DataFormatError(path, `record ${index}: invalid JSON (${(e as Error).message})`, line);
      }
      yield validateLlavaRecord(map(raw, index), path, index, line);
      index++;
    }
    return;
  }
  const source = createReadStream(path);
  const items = streamArray.withParserAsStream();
  source.on("error", (e) => items.destroy(e));
  source.pipe(items);
  let index = 0;
  try {
    for await (const item of items as AsyncIterable<{ key: number; value: unknown }>) {
      yield validateLlavaRecord(map(item.value, item.key), path, item.key);
      index = item.key + 1;
    }
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    const read = index === 0 ? "before the first record" : `after record ${index - 1}`;
    const at = await findJsonSyntaxError(path).catch(() => undefined);
    if (!at) throw new DataFormatError(path, `invalid JSON array ${read} (${(e as Error).message})`);
    throw new DataFormatError(
      path,
      `invalid JSON array ${read}: syntax error at byte ${at.offset} (line ${at.line}, column ${at.column}): ${at.reason}`,
      at.line,
    );
  } finally {
    source.destroy();
    items.destroy();
  }
}

/**
 * Writes records in the LLaVA format, streaming (the records may come from an async generator of any length),
 * to a temporary file renamed into place at the end. Each record is validated first. Returns the count.
 */
export async function writeLlavaConversations(
  path: string,
  records: Iterable<LlavaRecord> | AsyncIterable<LlavaRecord>,
  options: WriteLlavaOptions = {},
): Promise<number> {
  const format = options.format ?? (/\.jsonl$/i.test(path) ? "jsonl" : "json");
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const out = createWriteStream(tmp, { encoding: "utf8" });
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, "drain");
  };
  let count = 0;
  try {
    if (format === "json") await write("[");
    for await (const rec of records) {
      const valid = validateLlavaRecord(rec, path, count);
      const text = JSON.stringify(valid);
      if (format === "json") await write(`${count === 0 ? "\n" : ",\n"}  ${text}`);
      else await write(`${text}\n`);
      count++;
    }
    if (format === "json") await write(count === 0 ? "]\n" : "\n]\n");
    out.end();
    await once(out, "finish");
    await rename(tmp, path);
    return count;
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

async function sniffFormat(path: string): Promise<"json" | "jsonl"> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trimStart();
    if (head.startsWith("[")) return "json";
    if (head.startsWith("{") || head === "") return "jsonl";
    throw new DataFormatError(
      path,
      `expected a JSON array ('[') or JSON Lines ('{'), got ${JSON.stringify(head.slice(0, 20))}`,
      1,
    );
  } finally {
    await fh.close();
  }
}

function idOf(raw: unknown): string {
  const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === "string" || typeof id === "number" ? ` (id ${JSON.stringify(id)})` : "";
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
