/**
 * The `birdvlm` command line: `birdvlm <command> [options]`, each command with `--help`. Started by `cli.ts`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { runCommand, COMMANDS } from "./cli-commands.js";

const USAGE = `birdvlm <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join("\n")}

Run 'birdvlm <command> --help' for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`birdvlm: unknown command '${name}'.\n\n${USAGE}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    } as ParseArgsConfig);
  } catch (e) {
    console.error(`birdvlm ${name}: ${(e as Error).message}\n\n${command.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(command.usage);
    return 0;
  }
  return runCommand(name, parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

/** Runs the command line with `argv` (without `node` and the script) and exits with its code. */
export function runCli(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`birdvlm: ${(e as Error).message ?? String(e)}`);
      if (process.env.BIRDVLM_DEBUG) console.error((e as Error).stack);
      process.exit(1);
    },
  );
}
