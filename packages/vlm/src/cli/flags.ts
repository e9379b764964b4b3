/**
 * Flag parsing shared by every `birdvlm` command: each command declares its flags as data ({@link FlagSpecs}),
 * and {@link parseFlags} checks the whole command line against them before any work starts. Every mistake is a
 * {@link UsageError} that names the flag (exit code 2).
 */

/** What a flag holds: text, a finite number, a whole number, or a switch. */
export type FlagType = "string" | "number" | "integer" | "boolean";

/** One flag of a command. */
export interface FlagSpec {
  type: FlagType;
  /** One line for the usage text. */
  help: string;
  /** The value's name in the usage text, e.g. `<dir>` (default `<value>`, or `<n>` for numbers). */
  value?: string;
  /** The command cannot run without it. */
  required?: boolean;
  /** The value when the flag is absent (shown in the usage text). */
  default?: string | number;
  /** The allowed values of a string flag. */
  choices?: readonly string[];
  /** Smallest allowed value of a number flag. */
  min?: number;
  /** Turns a string flag's text into its value; throws an `Error` whose message says what was expected. */
  parse?: (raw: string) => unknown;
  /** A one-letter alias, e.g. `h` for `-h`. */
  short?: string;
}

/** A command's flags by name (the name without the leading `--`). */
export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S extends { type: "boolean" }
  ? boolean
  : S extends { parse: (raw: string) => infer R }
    ? R
    : S extends { type: "number" | "integer" }
      ? number
      : string;

/** The parsed values of `F`: required flags, flags with a default and switches are always present. */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]: F[K] extends { type: "boolean" } | { required: true } | { default: string | number }
    ? ValueOf<F[K]>
    : ValueOf<F[K]> | undefined;
};

/** A mistake on the command line (unknown or missing flag, bad value): the CLI prints it and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The result of {@link parseFlags}. */
export interface ParsedFlags {
  values: Record<string, unknown>;
  positionals: string[];
  /** `--help` or `-h` was given (nothing else is checked then). */
  help: boolean;
}

/**
 * Parses `argv` (the arguments after the command's name) against `specs`: `--name value`, `--name=value`, `-x value`,
 * switches, positionals, and `--` (everything after it is positional). Checks every value and that required flags
 * are there, and fills in defaults. `--help` or `-h` anywhere before `--` wins: nothing else is checked then.
 * @throws {UsageError} naming the flag, for an unknown flag, a missing value or required flag, or a bad value.
 */
export function parseFlags(specs: FlagSpecs, argv: readonly string[]): ParsedFlags {
  const end = argv.indexOf("--");
  const head = end < 0 ? argv : argv.slice(0, end);
  if (head.includes("--help") || head.includes("-h")) return { values: {}, positionals: [], help: true };
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const raw = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const written = eq > 0 ? arg.slice(0, eq) : arg;
    const name = written.startsWith("--") ? written.slice(2) : byShort.get(written.slice(1));
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || !spec) throw new UsageError(`unknown flag ${written}`);
    if (spec.type === "boolean") {
      if (eq > 0) throw new UsageError(`--${name} is a switch and takes no value`);
      raw.set(name, true);
    } else if (eq > 0) {
      raw.set(name, arg.slice(eq + 1));
    } else {
      const next = argv[i + 1];
      if (next === undefined || next === "--") throw new UsageError(`--${name} needs a value (${valueName(spec)})`);
      raw.set(name, next);
      i++;
    }
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw.get(name);
    if (spec.type === "boolean") {
      values[name] = given === true;
      continue;
    }
    if (given === undefined) {
      if (spec.required) throw new UsageError(`--${name} is required`);
      values[name] = spec.default;
      continue;
    }
    values[name] = convert(name, spec, given as string);
  }
  return { values, positionals, help: false };
}

function convert(name: string, spec: FlagSpec, text: string): unknown {
  if (spec.type === "number" || spec.type === "integer") {
    const n = text.trim() === "" ? NaN : Number(text);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${text}'`);
    if (spec.type === "integer" && !Number.isInteger(n))
      throw new UsageError(`--${name} must be a whole number, got '${text}'`);
    if (spec.min !== undefined && n < spec.min)
      throw new UsageError(`--${name} must be at least ${spec.min}, got ${n}`);
    return n;
  }
  if (text === "") throw new UsageError(`--${name} needs a value (${valueName(spec)})`);
  if (spec.choices && !spec.choices.includes(text))
    throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")}; got '${text}'`);
  if (spec.parse) {
    try {
      return spec.parse(text);
    } catch (e) {
      throw new UsageError(`--${name}: ${(e as Error).message}`);
    }
  }
  return text;
}

/** The placeholder shown for a flag's value in usage text. */
export function valueName(spec: FlagSpec): string {
  return spec.value ?? (spec.type === "number" || spec.type === "integer" ? "<n>" : "<value>");
}

/** The `Options:` lines of a usage text: each flag, its value, its help and its default. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : ""}--${name}${s.type === "boolean" ? "" : ` ${valueName(s)}`}`;
    const notes = [s.required ? "required" : "", s.default !== undefined ? `default ${s.default}` : ""].filter(Boolean);
    return [left, notes.length ? `${s.help} (${notes.join(", ")})` : s.help] as const;
  });
  rows.push(["-h, --help", "this help"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join("\n");
}
