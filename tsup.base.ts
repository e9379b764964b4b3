import type { Options } from "tsup";

/** What every BirdVLM package's build shares: ESM + CJS + types from `src/index.ts`, for Node 20. */
export const libraryBuild: Options = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  shims: true,
};
