// Builds the web demo (examples/web) with esbuild: main.ts and the BirdVLM packages it imports, bundled for the
// browser, beside index.html and the wasm backend's .wasm files, into examples/web/dist.
//
//   npx tsx examples/web/build.ts [--out <dir>] [--no-minify]
//
// The packages are taken from their sources (packages/*/src), through the file their `browser` export
// condition names (`./dist/browser.js` → `src/browser.ts`): no `pnpm build` needed, and the same entries a
// user's bundler picks from the published packages.
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");

/** The `.wasm` files of TF.js's wasm backend, which the page loads beside its script. */
export const WASM_FILES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];

/** The source file of `@birdvlm/<name>`'s browser entry: what its `exports["."]` gives a bundler targeting the browser. */
export async function browserSource(name: string): Promise<string> {
  const pkgDir = join(repo, "packages", name);
  const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as {
    exports: Record<string, Record<string, { default: string } | undefined>>;
  };
  const root = pkg.exports["."]!;
  const target = (root.browser ?? root.import)!.default;
  const m = /^\.\/dist\/(.+)\.js$/.exec(target);
  if (!m) throw new Error(`@birdvlm/${name}: exports["."] browser/import target ${target} is not ./dist/<entry>.js`);
  return join(pkgDir, "src", `${m[1]}.ts`);
}

/** esbuild plugin: `@birdvlm/<name>` → that package's browser entry in source ({@link browserSource}). */
export const birdvlmSources: esbuild.Plugin = {
  name: "birdvlm-sources",
  setup(build) {
    build.onResolve({ filter: /^@birdvlm\/[a-z0-9-]+$/ }, async (args) => ({
      path: await browserSource(args.path.slice("@birdvlm/".length)),
    }));
  },
};

/** What {@link buildPage} wrote. */
export interface PageBuild {
  outdir: string;
  /** Bytes of all the JavaScript (main.js and the chunks of every backend), raw and gzipped. */
  jsBytes: number;
  jsGzipBytes: number;
  /** Bytes of the .wasm files, raw and gzipped. */
  wasmBytes: number;
  wasmGzipBytes: number;
}

/** Bundles the page into `outdir` (emptied first): index.html, main.js, the wasm backend's files. */
export async function buildPage(outdir = join(here, "dist"), options: { minify?: boolean } = {}): Promise<PageBuild> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(here, "main.ts")],
    outdir,
    // Each backend (a dynamic import in core) in chunks of its own, fetched only when the page takes it.
    splitting: true,
    chunkNames: "chunk-[hash]",
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: options.minify ?? true,
    logLevel: "silent",
    plugins: [birdvlmSources],
    write: false,
  });
  let jsBytes = 0;
  let jsGzipBytes = 0;
  for (const f of result.outputFiles) {
    await writeFile(f.path, f.contents);
    jsBytes += f.contents.byteLength;
    jsGzipBytes += gzipSync(f.contents).byteLength;
  }
  await copyFile(join(here, "index.html"), join(outdir, "index.html"));
  const coreRequire = createRequire(join(repo, "packages/core/package.json"));
  const wasmDir = dirname(coreRequire.resolve("@tensorflow/tfjs-backend-wasm"));
  let wasmBytes = 0;
  let wasmGzipBytes = 0;
  for (const f of WASM_FILES) {
    const bytes = await readFile(join(wasmDir, f));
    await writeFile(join(outdir, f), bytes);
    wasmBytes += bytes.byteLength;
    wasmGzipBytes += gzipSync(bytes).byteLength;
  }
  return { outdir, jsBytes, jsGzipBytes, wasmBytes, wasmGzipBytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    options: { out: { type: "string" }, "no-minify": { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("usage: npx tsx examples/web/build.ts [--out <dir>] [--no-minify]");
    process.exit(0);
  }
  const b = await buildPage(values.out ? resolve(values.out) : undefined, { minify: !values["no-minify"] });
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  console.log(
    `built ${b.outdir}: JavaScript ${kb(b.jsBytes)} (${kb(b.jsGzipBytes)} gzip; each backend a chunk loaded when ` +
      `taken), .wasm ${kb(b.wasmBytes)} (${kb(b.wasmGzipBytes)} gzip; one of the three is loaded)`,
  );
}
