import { defineConfig } from "tsup";
import { libraryBuild } from "../../tsup.base.js";

export default defineConfig({
  ...libraryBuild,
  // index: Node (everything); browser: the page's entry (the `browser` export condition), a subset of index.
  entry: ["src/index.ts", "src/browser.ts"],
  // tsup's ESM shims import node's path and url into every chunk, which a page cannot load; core reads
  // __filename / import.meta.url itself, whichever the format has (so the CJS build's empty import.meta is
  // expected: no warning).
  shims: false,
  esbuildOptions(options) {
    options.logOverride = { ...options.logOverride, "empty-import-meta": "silent" };
  },
  // tfjs-core's gradient registrations exist only as extension-less ESM files, which Node cannot load from
  // the package; they are bundled here (as @tensorflow/tfjs's own node bundle does). They register into
  // tfjs-core's global engine and gradient registry, which both copies share.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
