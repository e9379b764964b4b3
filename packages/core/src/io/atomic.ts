/**
 * Atomic writes: a file or folder is written beside its destination under a temporary name and renamed into
 * place, so a reader sees either the old version or the complete new one, never a partial write.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A fresh temporary path in the same folder as `path` (same file system, so `rename` is atomic). */
export function tempPathBeside(path: string, kind = "tmp"): string {
  return join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** Error codes of a full disk or an exhausted quota. */
const DISK_FULL = new Set(["ENOSPC", "EDQUOT"]);

/**
 * `e` as an error that names `path` when the disk was full (Node's own `ENOSPC` names no file, or only a
 * temporary one); other errors are returned as they are. The code stays on the error (`code`), the original
 * is its `cause`.
 */
export function namingDiskFull(e: unknown, path: string, what = "writing"): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !DISK_FULL.has(code)) return e;
  const err = new Error(
    `${path}: no space left on the device while ${what} it (${code}); free some space and run again`,
    { cause: e },
  ) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/**
 * Writes a file atomically: `write` fills a handle on a temporary file beside `path`, which is flushed to disk
 * and renamed onto `path`. If `write` throws, the temporary file is removed and `path` is left as it was
 * (a full disk is an error naming `path`).
 */
export async function writeFileAtomic(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPathBeside(path);
  const handle = await open(tmp, "wx").catch((e: unknown) => {
    throw namingDiskFull(e, path);
  });
  try {
    await write(handle);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw namingDiskFull(e, path);
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
    throw namingDiskFull(e, dir);
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

/** `.<name>.<tmp|old>-<pid>-<8 hex>`: what {@link tempPathBeside} names. */
const TEMPORARY = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]{8}$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Heals a folder that atomic writes of a killed process left behind: its `.<name>.tmp-*` (a write never
 * renamed into place) are deleted, and each `.<name>.old-*` (a previous version moved aside) is deleted when
 * `<name>` exists, or renamed back to `<name>` when the kill came between the two renames. Only temporaries
 * of processes no longer running are touched. Returns one line per action (for a log); `[]` when `root` is absent.
 */
export async function sweepStaleTemporaries(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const entry of names) {
    const m = TEMPORARY.exec(entry);
    if (!m || alive(Number(m[3]))) continue;
    const path = join(root, entry);
    const target = join(root, m[1]!);
    if (m[2] === "old" && !(await exists(target))) {
      await rename(path, target);
      done.push(`restored ${target} from ${entry} (a write was interrupted between its renames)`);
    } else {
      await rm(path, { recursive: true, force: true });
      done.push(`removed ${path} (left by an interrupted write)`);
    }
  }
  return done;
}
