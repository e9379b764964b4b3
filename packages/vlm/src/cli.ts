/**
 * Entry of the `birdvlm` command line: one file per command in `cli/`, dispatched by `cli/main.ts`.
 */
import { runCli } from "./cli/main.js";

process.exit(await runCli(process.argv.slice(2)));
