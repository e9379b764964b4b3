/**
 * Entry of the `birdvlm` command line. TF.js's ES modules import their siblings without file extensions, which
 * Node's ESM resolver refuses; a resolve hook retries those imports with `.js` / `/index.js` before the rest of the
 * program (and TF.js) loads.
 */
import { register } from "node:module";

const tfjsResolveHook = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (!specifier.startsWith(".") || !context.parentURL?.includes("/@tensorflow/")) throw e;
    for (const suffix of [".js", "/index.js"]) {
      try { return await next(specifier + suffix, context); } catch {}
    }
    throw e;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(tfjsResolveHook)}`);

const { runCli } = await import("./cli-main.js");
await runCli(process.argv.slice(2));
