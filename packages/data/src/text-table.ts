import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { DataFormatError } from "./data-format-error.js";
import { checkRegularFile } from "./listed-path.js";

/** One non-empty line of a whitespace-separated table file, with its 1-based line number. */
export interface TableRow {
  line: number;
  /** The line split on runs of whitespace. */
  fields: string[];
  /** The line as read, without its end-of-line characters. */
  text: string;
}

/**
 * Streams the non-empty lines of a whitespace-separated text table (the format of every CUB-200-2011 and
 * NABirds metadata file), so files of millions of lines never sit in memory as one string. Only a regular file
 * is read (a {@link DataFormatError} for a device, pipe or folder, which could otherwise stream forever).
 */
export async function* readTable(path: string): AsyncGenerator<TableRow> {
  await checkRegularFile(path);
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    const trimmed = text.trim();
    if (trimmed === "") continue;
    yield { line, fields: trimmed.split(/\s+/), text };
  }
}

/** `path` when the file exists, else `undefined` (for the optional files of a dataset). */
export function optionalFile(...candidates: string[]): string | undefined {
  return candidates.find((p) => existsSync(p));
}

/** Parses a field as an integer, or throws a {@link DataFormatError} naming the file and line. */
export function intField(path: string, row: TableRow, index: number, what: string): number {
  const s = row.fields[index];
  const n = s === undefined ? NaN : Number(s);
  if (!Number.isInteger(n))
    throw new DataFormatError(
      path,
      `${what} must be an integer, got ${JSON.stringify(s ?? "")} in ${JSON.stringify(row.text)}`,
      row.line,
    );
  return n;
}

/** Parses a field as a finite number, or throws a {@link DataFormatError} naming the file and line. */
export function numberField(path: string, row: TableRow, index: number, what: string): number {
  const s = row.fields[index];
  const n = s === undefined ? NaN : Number(s);
  if (!Number.isFinite(n))
    throw new DataFormatError(
      path,
      `${what} must be a number, got ${JSON.stringify(s ?? "")} in ${JSON.stringify(row.text)}`,
      row.line,
    );
  return n;
}

/** Throws unless the row has exactly `count` fields (or at least `count` when `atLeast`). */
export function expectFields(path: string, row: TableRow, count: number, layout: string, atLeast = false): void {
  const n = row.fields.length;
  if (atLeast ? n < count : n !== count) {
    throw new DataFormatError(
      path,
      `expected ${atLeast ? "at least " : ""}${count} fields '${layout}', got ${n} in ${JSON.stringify(row.text)}`,
      row.line,
    );
  }
}

/**
 * The `<id> <rest of line>` split of a row, where the rest may contain spaces (NABirds class names), or
 * throws naming the file and line.
 */
export function idAndRest(path: string, row: TableRow, layout: string): [string, string] {
  const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(row.text);
  if (!m) throw new DataFormatError(path, `expected '${layout}', got ${JSON.stringify(row.text)}`, row.line);
  return [m[1]!, m[2]!];
}

/**
 * Records where each id was first seen so a duplicate gets an error naming both lines.
 */
export class IdRegistry<K> {
  private readonly lines = new Map<K, number>();
  constructor(
    private readonly path: string,
    private readonly what: string,
  ) {}

  /** Registers `id` seen on `row`; throws when it was already seen. */
  add(id: K, row: TableRow): void {
    const first = this.lines.get(id);
    if (first !== undefined)
      throw new DataFormatError(
        this.path,
        `${this.what} ${String(id)} appears twice (first on line ${first})`,
        row.line,
      );
    this.lines.set(id, row.line);
  }

  has(id: K): boolean {
    return this.lines.has(id);
  }

  get size(): number {
    return this.lines.size;
  }
}
