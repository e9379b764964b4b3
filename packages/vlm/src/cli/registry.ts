import type { AnyCommand } from "./command.js";
import { alignCommand } from "./align.js";
import { askCommand } from "./ask.js";
import { attentionCommand } from "./attention.js";
import { demoCommand } from "./demo.js";
import { evalCommand } from "./eval.js";
import { inspectCommand } from "./inspect.js";
import { instructCommand } from "./instruct.js";
import { synthCommand } from "./synth.js";
import { trainVitCommand } from "./train-vit.js";

/** Every `birdvlm` command, in the order `birdvlm --help` lists them. A new command is one file and one line here. */
export const COMMANDS: readonly AnyCommand[] = [
  demoCommand,
  synthCommand,
  trainVitCommand,
  alignCommand,
  instructCommand,
  askCommand,
  evalCommand,
  inspectCommand,
  attentionCommand,
];

/** The command called `name`, if there is one. */
export function findCommand(name: string): AnyCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `birdvlm --help`: every command with its summary. */
export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `birdvlm <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

Run 'birdvlm <command> --help' for a command's options.`;
}
