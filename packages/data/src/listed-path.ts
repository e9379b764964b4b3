import { constants, type Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import { DataFormatError } from "./data-format-error.js";

/** The largest image file read by default: 64 MiB (CUB's largest JPEG is under 1 MiB). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

/**
 * Why `name`, a path read from a list or record, would not stay inside the folder it is relative to, or
 * `undefined` when it does: it must be relative, non-empty, free of NUL bytes, and must not climb out of its root
 * once `..` is resolved (`a/../b.jpg` is fine, `a/../../b.jpg` is not). The check is on the text alone, so it holds
 * whatever root the name is later joined to.
 */
export function escapingPathReason(name: string): string | undefined {
  if (name === "") return "the path is empty";
  if (name.includes("\0")) return "the path contains a NUL byte";
  if (isAbsolute(name) || /^[a-zA-Z]:[\\/]/.test(name) || name.startsWith("\\"))
    return `the path ${JSON.stringify(name)} is absolute; paths must be relative to the dataset's folder`;
  const n = normalize(name);
  if (n === ".." || n.startsWith(`..${sep}`) || n.startsWith("../"))
    return `the path ${JSON.stringify(name)} leads outside the dataset's folder`;
  if (n === "." || n.endsWith(sep)) return `the path ${JSON.stringify(name)} names a folder, not a file`;
  return undefined;
}

/**
 * Joins `name`, a path read from line `line` of `listFile` (or record `line` of a JSON file), to `root` after
 * checking it stays inside (see {@link escapingPathReason}); throws a {@link DataFormatError} naming the file and
 * line otherwise. Every path a dataset list or record names goes through here.
 */
export function resolveListedPath(root: string, name: string, listFile: string, line?: number): string {
  const reason = escapingPathReason(name);
  if (reason) throw new DataFormatError(listFile, reason, line);
  return join(root, name);
}

/** What a file that is not a regular file is, for error messages. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return "a folder";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isFIFO()) return "a named pipe";
  if (s.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Throws a {@link DataFormatError} unless `path` (after symbolic links) is a regular file of at most `maxBytes`
 * bytes; returns its size. Devices, pipes and folders are refused before they are opened.
 */
export async function checkRegularFile(path: string, maxBytes = Infinity): Promise<number> {
  const s = await stat(path);
  if (!s.isFile()) throw new DataFormatError(path, `only regular files are read, this is ${kindOf(s)}`);
  if (s.size > maxBytes) throw new DataFormatError(path, `is ${s.size} bytes, over the limit of ${maxBytes}`);
  return s.size;
}

/**
 * Reads a whole file that must be a regular file of at most `maxBytes` bytes (a {@link DataFormatError}
 * otherwise). The file is opened without blocking (a named pipe cannot stall the open) and checked on the open
 * handle, so a file swapped between the check and the read is still caught; a file that grows while read is
 * read only up to the size it had.
 */
export async function readRegularFile(path: string, maxBytes = MAX_IMAGE_BYTES): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new DataFormatError(path, `only regular files are read, this is ${kindOf(s)}`);
    if (s.size > maxBytes) throw new DataFormatError(path, `is ${s.size} bytes, over the limit of ${maxBytes}`);
    const buf = Buffer.allocUnsafe(s.size);
    let at = 0;
    while (at < s.size) {
      const { bytesRead } = await fh.read(buf, at, s.size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === s.size ? buf : buf.subarray(0, at);
  } finally {
    await fh.close();
  }
}
