/**
 * The `birdvlm` dispatcher: finds the command, checks its flags and positionals (usage errors exit 2 before any
 * work starts), initializes the backend, then runs it (a failure exits 1).
 */
import { initBackend, type BackendName } from "@birdvlm/core";
import { usageOf, type CommandIO } from "./command.js";
import { parseFlags, UsageError } from "./flags.js";
import { findCommand, mainUsage } from "./registry.js";

const consoleIO: CommandIO = {
  log: (line) => console.log(line),
  write: (text) => process.stdout.write(text),
};

/** Where the dispatcher writes: the command's output, and messages about mistakes and failures. */
export interface CliIO extends CommandIO {
  error: (line: string) => void;
}

/**
 * Runs `birdvlm` with `argv` (without `node` and the script) and returns its exit code: 0 done (or `--help`),
 * 1 the command failed, 2 a usage error (unknown command or flag, missing or bad value).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIO = { ...consoleIO, error: (line) => console.error(line) },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.log(mainUsage());
    return 0;
  }
  if (!name) {
    io.error(mainUsage());
    return 2;
  }
  const command = findCommand(name);
  if (!command) {
    io.error(`birdvlm: unknown command '${name}'\n\n${mainUsage()}`);
    return 2;
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    const parsed = parseFlags(command.flags, rest);
    if (parsed.help) {
      io.log(usageOf(command));
      return 0;
    }
    ({ values, positionals } = parsed);
    const wrong = command.checkPositionals?.(positionals, values as never);
    if (wrong) throw new UsageError(wrong);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.error(`birdvlm ${name}: ${e.message} (see 'birdvlm ${name} --help')`);
    return 2;
  }
  try {
    const backend = await initBackend(values.backend as BackendName | undefined);
    if (!command.quiet) io.log(`backend: ${backend.name}`);
    return await command.run(values, positionals, { log: io.log, write: io.write, backend });
  } catch (e) {
    io.error(`birdvlm ${name}: ${(e as Error).message ?? String(e)}`);
    if (process.env.BIRDVLM_DEBUG) io.error((e as Error).stack ?? "");
    return 1;
  }
}
