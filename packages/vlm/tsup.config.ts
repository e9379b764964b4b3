import { defineConfig } from "tsup";
import { libraryBuild, neverBundled } from "../../tsup.base.js";

export default defineConfig([
  // Two builds write into dist/, so neither cleans it.
  { ...libraryBuild, clean: false },
  {
    // The `birdvlm` command line: dist/cli.js (ESM, executable).
    entry: ["src/cli.ts"],
    format: ["esm"],
    sourcemap: false,
    target: "node20",
    external: neverBundled,
    banner: { js: "#!/usr/bin/env node" },
  },
]);
