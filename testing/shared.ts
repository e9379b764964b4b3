// Test-only helper: where the read-only `../shared` folder (goldens, real data) lives, and what a test
// does when a file is missing: under CI=true it fails, elsewhere it skips with a message.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Absolute path of the shared folder (env `BIRDVLM_SHARED` overrides). */
export const sharedRoot = process.env.BIRDVLM_SHARED ?? resolve(repoRoot, "..", "shared");

/**
 * Absolute path of `rel` inside the shared folder, or `undefined` when it is missing (then the caller skips,
 * e.g. `describe.skipIf(!path)`). Under `CI=true` a missing file throws, so the test fails.
 */
export function sharedPath(rel: string): string | undefined {
  const path = join(sharedRoot, rel);
  if (existsSync(path)) return path;
  const message = `shared file missing: ${path}`;
  if (process.env.CI === "true") throw new Error(`${message} (required under CI=true)`);
  console.warn(`skipping: ${message}`);
  return undefined;
}
