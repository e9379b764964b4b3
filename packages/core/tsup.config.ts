import { defineConfig } from "tsup";
import { libraryBuild } from "../../tsup.base.js";

export default defineConfig({
  ...libraryBuild,
  // tfjs-core's gradient registrations exist only as extension-less ESM files, which Node cannot load from
  // the package; they are bundled here (as @tensorflow/tfjs's own node bundle does). They register into
  // tfjs-core's global engine and gradient registry, which both copies share.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
