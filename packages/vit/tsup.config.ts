import { defineConfig } from "tsup";
import { libraryBuild } from "../../tsup.base.js";

export default defineConfig({
  ...libraryBuild,
  // index: Node (everything); browser: the page's entry (the `browser` export condition), a subset of index.
  entry: ["src/index.ts", "src/browser.ts"],
  // tsup's ESM shims would import node's path and url into every chunk, which a page cannot load.
  shims: false,
});
