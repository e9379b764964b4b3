import type { BackendInfo } from "@birdvlm/core";
import { formatFlags, type FlagSpecs, type FlagValues } from "./flags.js";

/** Where a command writes: whole lines, and raw text (a streamed answer). */
export interface CommandIO {
  log: (line: string) => void;
  write: (text: string) => void;
}

/** What a command's `run` receives besides its flags. */
export interface CommandContext extends CommandIO {
  /** The backend chosen by `--backend` (initialized before `run`). */
  backend: BackendInfo;
}

/** One `birdvlm` command: its usage (synopsis, description, flags) and its body, in one place. */
export interface Command<F extends FlagSpecs = FlagSpecs> {
  name: string;
  /** One line for `birdvlm --help`. */
  summary: string;
  /** The first usage line after `birdvlm <name>`, e.g. `--model <dir> <image> "<question>" [options]`. */
  synopsis: string;
  /** Paragraphs after the synopsis. */
  description?: string;
  flags: F;
  /**
   * Checks the positional arguments before any work starts; returns what is wrong (a usage error), or nothing.
   */
  checkPositionals?: (positionals: readonly string[], flags: FlagValues<F>) => string | undefined;
  /** Doesn't print the `backend:` line (commands whose output is the answer itself). */
  quiet?: boolean;
  /** Does the work; returns the exit code. */
  run(flags: FlagValues<F>, positionals: readonly string[], ctx: CommandContext): Promise<number>;
}

/** A command with its flag types erased, as the registry holds it. */
export type AnyCommand = Command<FlagSpecs> & {
  run(flags: Record<string, unknown>, positionals: readonly string[], ctx: CommandContext): Promise<number>;
};

/** The `--backend` flag every command takes. */
export const backendFlag = {
  type: "string",
  value: "<name>",
  help: "auto (default), native, wasm, cpu, webgpu or tensorflow",
  choices: ["auto", "native", "wasm", "cpu", "webgpu", "tensorflow"],
} as const;

/** Declares a command; `flags` get `--backend` added, and `run` sees typed values. */
export function defineCommand<const F extends FlagSpecs>(
  c: Command<F>,
): Command<F & { backend: typeof backendFlag }> & AnyCommand {
  return { ...c, flags: { ...c.flags, backend: backendFlag } } as unknown as Command<
    F & { backend: typeof backendFlag }
  > &
    AnyCommand;
}

/** A command's full usage text: synopsis, description and the list of its flags. */
export function usageOf(c: Command): string {
  return [`birdvlm ${c.name} ${c.synopsis}`, c.description, `Options:\n${formatFlags(c.flags)}`]
    .filter(Boolean)
    .join("\n\n");
}
