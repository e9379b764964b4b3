// The root entries of @birdvlm/core, @birdvlm/vit and @birdvlm/projector bundle for the browser: esbuild with
// --platform=browser --format=esm, zero errors, no Node built-ins and none of the Node-only pieces.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { describe, expect, it } from "vitest";
import { birdvlmSources } from "./build.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const entry = [
  'export * as core from "@birdvlm/core";',
  'export * as vit from "@birdvlm/vit";',
  'export * as projector from "@birdvlm/projector";',
].join("\n");

/** Node-only modules and packages that must stay out of a page's bundle. */
const NODE_ONLY =
  /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(?:sharp|webgpu|@img)\/|backends\/native\/(?:addon|use-native)|webgpu\/dawn|read-sync|trainer\/|overlay\.ts|train\.ts|model-folder\.ts/;

async function bundle(resolveDir: string, plugins: esbuild.Plugin[]) {
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir, loader: "js" },
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins,
  });
  const text = result.outputFiles.map((f) => f.text).join("\n");
  return { result, text, inputs: Object.keys(result.metafile!.inputs) };
}

function expectBrowserSafe({ result, text, inputs }: Awaited<ReturnType<typeof bundle>>): void {
  expect(result.errors).toEqual([]);
  expect(inputs.filter((p) => NODE_ONLY.test(p))).toEqual([]);
  expect(text).not.toMatch(/\bfrom\s*["'](?:node:)?(?:fs|path|url|os|module|crypto|child_process)(?:\/promises)?["']/);
  expect(text).not.toMatch(/(?:import|require)\(\s*["']node:/);
  expect(text).not.toMatch(/\bprocess\.env\b/);
}

describe("the packages in a page", () => {
  it("core, vit and projector bundle from their sources through the `browser` condition", async () => {
    const out = await bundle(here, [birdvlmSources]);
    expectBrowserSafe(out);
    expect(out.inputs.some((p) => p.endsWith("packages/core/src/browser.ts"))).toBe(true);
    expect(out.inputs.some((p) => p.endsWith("packages/vit/src/browser.ts"))).toBe(true);
  });

  // What a user's bundler does with the built packages (scripts/test.sh builds them before the suite).
  const built = ["core", "vit", "projector"].every((p) => existsSync(join(repo, "packages", p, "dist/index.js")));
  it.skipIf(!built && process.env.CI !== "true")(
    "the built packages bundle the same way (dist, export conditions)",
    async () => {
      const out = await bundle(join(repo, "packages/vlm"), []);
      expectBrowserSafe(out);
      expect(out.inputs.some((p) => p.endsWith("packages/core/dist/browser.js"))).toBe(true);
    },
  );
});
