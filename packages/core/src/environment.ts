/**
 * What BirdVLM reads from its host, in Node and in a web page alike: environment variables (none in a page)
 * and warnings (`process.emitWarning` in Node, `console.warn` in a page). Modules that a page loads read the
 * host only through these, never through `process` directly.
 */

interface ProcessLike {
  env?: Record<string, string | undefined>;
  emitWarning?(message: string): void;
}

function hostProcess(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/** The environment variable `name` in Node; always `undefined` in a page. */
export function envVar(name: string): string | undefined {
  return hostProcess()?.env?.[name];
}

/** Emits a warning once per call: `process.emitWarning` in Node, `console.warn` in a page. */
export function warn(message: string): void {
  const p = hostProcess();
  if (typeof p?.emitWarning === "function") p.emitWarning(message);
  else console.warn(message);
}
