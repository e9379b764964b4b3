import { defineConfig } from "tsup";
import { libraryBuild } from "../../tsup.base.js";

// The root entry is browser-safe (a page bundles it): no ESM shims, which would import node's path and url.
export default defineConfig({ ...libraryBuild, shims: false });
