// For scripts run from source with tsx (examples, bench): tsx follows tsconfig's paths to each package's `src`,
// where `@birdvlm/core` imports `@tensorflow/tfjs-core/dist/register_all_gradients`, whose ES modules import
// their siblings without extensions. Node's resolver refuses those (vitest's bundler and core's built `dist`,
// which bundles them, do not need this). This hook retries them with `.js` / `/index.js`.
// Import it first, then load the BirdVLM packages with `await import(...)`.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try { return await next(specifier, context); } catch (e) {
    if (!specifier.startsWith(".") || !context.parentURL?.includes("/@tensorflow/")) throw e;
    for (const suffix of [".js", "/index.js"]) { try { return await next(specifier + suffix, context); } catch {} }
    throw e;
  }
}`)}`,
);
