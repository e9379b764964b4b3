import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DataFormatError } from "./data-format-error.js";

const MISSING_NAMED = 5;

/**
 * Checks that every image listed in `listPath` (paths relative to `imagesDir`, with the line each was listed
 * on) exists, reading each folder once; throws naming the first few missing files and their lines.
 */
export async function checkListedImages(
  listPath: string,
  imagesDir: string,
  names: string[],
  lines: number[],
): Promise<void> {
  const listed = new Map<string, Set<string>>();
  const missing: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const slash = name.lastIndexOf("/");
    const folder = slash < 0 ? "" : name.slice(0, slash);
    let files = listed.get(folder);
    if (!files) {
      files = new Set(await readdir(join(imagesDir, folder)).catch(() => [] as string[]));
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
    `${missing.length} of ${names.length} listed images are missing under ${imagesDir}: ${named}${more} (open with { checkFiles: false } to skip this check)`,
  );
}
