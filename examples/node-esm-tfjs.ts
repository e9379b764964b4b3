// Node's ESM resolver refuses TF.js's extensionless relative imports (vitest's bundler does not): this resolve
// hook retries them with `.js` / `/index.js`. Import it first, then load the BirdVLM packages with `await import`.
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
