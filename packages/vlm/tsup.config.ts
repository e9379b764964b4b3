import { defineConfig } from "tsup";
import { libraryBuild } from "../../tsup.base.js";

export default defineConfig([
  // Two builds write into dist/, so neither cleans it.
  { ...libraryBuild, clean: false },
  {
    // The `birdvlm` command line: dist/cli.js (ESM, executable).
    entry: ["src/cli.ts"],
    format: ["esm"],
    sourcemap: true,
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
  },
]);
