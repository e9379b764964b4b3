/**
 * Atomic writes: a file or folder is written beside its destination under a temporary name and renamed into
 * place, so a reader sees either the old version or the complete new one, never a partial write.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A fresh temporary path in the same folder as `path` (same file system, so `rename` is atomic). */
export function tempPathBeside(path: string, kind = "tmp"): string {
  return join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Writes a file atomically: `write` fills a handle on a temporary file beside `path`, which is flushed to disk
 * and renamed onto `path`. If `write` throws, the temporary file is removed and `path` is left as it was.
 */
export async function writeFileAtomic(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPathBeside(path);
  const handle = await open(tmp, "wx");
  try {
    await write(handle);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes `value` as pretty JSON (2 spaces, trailing newline) to `path`, atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  await writeFileAtomic(path, async (handle) => {
    await handle.writeFile(text, "utf8");
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a folder atomically: `fill(tmpDir)` writes the contents into a fresh folder beside `dir`, which then
 * replaces `dir` (an older `dir` is moved aside, the new one renamed in, the old one deleted).
 * If `fill` throws, the temporary folder is removed and an existing `dir` is left intact.
 *
 * POSIX has no atomic swap of two folders, so between the two renames (microseconds) `dir` is briefly
 * absent; the old version then still exists as `.<name>.old-*` beside it.
 */
export async function writeFolderAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = tempPathBeside(dir);
  await mkdir(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (await exists(dir)) {
    const old = tempPathBeside(dir, "old");
    await rename(dir, old);
    try {
      await rename(tmp, dir);
    } catch (e) {
      await rename(old, dir);
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, dir);
  }
}
