import type { Options } from "tsup";

/**
 * Packages that are never bundled into `dist`, whether or not the package lists them: the optional GPU and
 * native pieces are found at run time in the user's node_modules (bundled, Dawn looks for its `dawn.node`
 * beside our chunk and fails), and sibling packages stay separate so that one copy of each is loaded.
 */
export const neverBundled: (string | RegExp)[] = [
  /^@birdvlm\//,
  "webgpu",
  "@tensorflow/tfjs-backend-webgpu",
  "@tensorflow/tfjs-node",
  "@tensorflow/tfjs-node-gpu",
  "sharp",
  "deasync",
];

/**
 * What every BirdVLM package's build shares: ESM + CJS + types from `src/index.ts`, for Node 20. No source
 * maps: they would be most of each tarball, and the published code is unminified.
 */
export const libraryBuild: Options = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: false,
  target: "node20",
  shims: true,
  external: neverBundled,
};
