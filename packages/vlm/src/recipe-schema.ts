/**
 * A small schema for JSON data files: each field's kind, limits and default, checked with errors that name the
 * file and the field (`recipes/demo.json: encoder.depth must be a whole number ≥ 1, got 2.5`). Unknown fields are
 * errors too, so a misspelt knob is never silently ignored; adding a knob is one line in a schema.
 */

/** One field of a {@link Schema}. */
export type FieldSchema =
  | { kind: "number"; default?: number; min?: number; max?: number; integer?: boolean; optional?: boolean }
  | { kind: "boolean"; default?: boolean; optional?: boolean }
  | { kind: "string"; default?: string; values?: readonly string[]; optional?: boolean }
  | {
      kind: "numbers";
      /** The list's length; absent: any length. */
      length?: number;
      /** Every element whole (and at least `min`, when given). */
      integer?: boolean;
      min?: number;
      default?: readonly number[] | null;
      optional?: boolean;
      nullable?: boolean;
    }
  | { kind: "object"; fields: Schema; optional?: boolean };

/** The fields of an object, by name. A field without a default (and not optional) is required. */
export type Schema = Record<string, FieldSchema>;

/** A data file that does not fit its schema; the message names the file and the field. */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/**
 * Checks `value` against `schema` and returns a copy with every default filled in.
 * @param where the file (or other source) named in errors.
 * @param path the field path of `value` inside the file (`""` at the top).
 * @throws {SchemaError} for a missing required field, a field of the wrong kind or out of its limits, or an
 *   unknown field.
 */
export function applySchema(schema: Schema, value: unknown, where: string, path = ""): Record<string, unknown> {
  const at = (name: string) => (path ? `${path}.${name}` : name);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SchemaError(`${where}: ${path || "the file"} must be a JSON object, got ${describe(value)}`);
  const given = value as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!(name in schema))
      throw new SchemaError(
        `${where}: unknown field '${at(name)}' (known here: ${Object.keys(schema).join(", ")}); is it misspelt?`,
      );
  }
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const v = given[name];
    if (field.kind === "object") {
      if (v === undefined && field.optional) continue;
      out[name] = applySchema(field.fields, v ?? {}, where, at(name));
      continue;
    }
    if (v === undefined) {
      if (field.default !== undefined)
        out[name] = Array.isArray(field.default) ? [...(field.default as unknown[])] : field.default;
      else if (!field.optional) throw new SchemaError(`${where}: ${at(name)} is required`);
      continue;
    }
    out[name] = checkField(field, v, `${where}: ${at(name)}`);
  }
  return out;
}

function checkField(field: Exclude<FieldSchema, { kind: "object" }>, v: unknown, label: string): unknown {
  switch (field.kind) {
    case "number": {
      const whole = field.integer ? "a whole number" : "a number";
      const limits = [
        field.min !== undefined ? `≥ ${field.min}` : "",
        field.max !== undefined ? `≤ ${field.max}` : "",
      ].filter(Boolean);
      const ok =
        typeof v === "number" &&
        Number.isFinite(v) &&
        (!field.integer || Number.isInteger(v)) &&
        (field.min === undefined || v >= field.min) &&
        (field.max === undefined || v <= field.max);
      if (!ok) throw new SchemaError(`${label} must be ${[whole, ...limits].join(" ")}, got ${describe(v)}`);
      return v;
    }
    case "boolean":
      if (typeof v !== "boolean") throw new SchemaError(`${label} must be true or false, got ${describe(v)}`);
      return v;
    case "string":
      if (typeof v !== "string") throw new SchemaError(`${label} must be a string, got ${describe(v)}`);
      if (field.values && !field.values.includes(v))
        throw new SchemaError(`${label} must be one of ${field.values.map((x) => `"${x}"`).join(", ")}, got "${v}"`);
      return v;
    case "numbers":
      if (v === null && field.nullable) return null;
      if (
        !Array.isArray(v) ||
        (field.length !== undefined && v.length !== field.length) ||
        !v.every(
          (x) =>
            typeof x === "number" &&
            Number.isFinite(x) &&
            (!field.integer || Number.isInteger(x)) &&
            (field.min === undefined || x >= field.min),
        )
      ) {
        const count = field.length !== undefined ? `${field.length} ` : "";
        const what = `${field.integer ? "whole " : ""}numbers${field.min !== undefined ? ` ≥ ${field.min}` : ""}`;
        throw new SchemaError(
          `${label} must be a list of ${count}${what}${field.nullable ? " or null" : ""}, got ${describe(v)}`,
        );
      }
      return [...v];
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
