import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, isAbsolute } from "node:path";
import { DataFormatError } from "./data-format-error.js";
import { escapingPathReason } from "./listed-path.js";
import type { TableRow } from "./text-table.js";

const MISSING_NAMED = 5;

/**
 * The image path in field `field` of a list row (CUB's and NABirds' `images.txt`), checked to stay inside the
 * images folder once `..` is resolved ({@link escapingPathReason}); a {@link DataFormatError} naming the file and
 * line otherwise.
 */
export function listedImageName(listPath: string, row: TableRow, field = 1): string {
  const name = row.fields[field]!;
  const reason = escapingPathReason(name);
  if (reason) throw new DataFormatError(listPath, reason, row.line);
  return name;
}

/** Whether `entry` of `folder` is a regular file, or a symbolic link to one that stays inside `rootReal`. */
async function isListableFile(folder: string, entry: Dirent, rootReal: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    const target = await realpath(join(folder, entry.name));
    const rel = relative(rootReal, target);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return false;
    return (await stat(target)).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks that every image listed in `listPath` (paths relative to `imagesDir`, with the line each was listed
 * on) exists as a regular file (or a symbolic link to one inside `imagesDir`), reading each folder once; throws
 * naming the first few missing files and their lines. Folders, devices, pipes and links leading out of the
 * images folder count as missing.
 */
export async function checkListedImages(
  listPath: string,
  imagesDir: string,
  names: string[],
  lines: number[],
): Promise<void> {
  const listed = new Map<string, Set<string>>();
  const missing: number[] = [];
  const rootReal = await realpath(imagesDir).catch(() => imagesDir);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const slash = name.lastIndexOf("/");
    const folder = slash < 0 ? "" : name.slice(0, slash);
    let files = listed.get(folder);
    if (!files) {
      const dir = join(imagesDir, folder);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
      files = new Set<string>();
      for (const e of entries) if (await isListableFile(dir, e, rootReal)) files.add(e.name);
      listed.set(folder, files);
    }
    if (!files.has(name.slice(slash + 1))) missing.push(i);
  }
  if (missing.length === 0) return;
  const named = missing
    .slice(0, MISSING_NAMED)
    .map((i) => `line ${lines[i]} (${names[i]})`)
    .join(", ");
  const more = missing.length > MISSING_NAMED ? ` and ${missing.length - MISSING_NAMED} more` : "";
  throw new DataFormatError(
    listPath,
    `${missing.length} of ${names.length} listed images are missing (or not regular files) under ${imagesDir}: ${named}${more} (open with { checkFiles: false } to skip this check)`,
  );
}
