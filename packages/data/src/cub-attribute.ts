/**
 * One CUB-200-2011 attribute, e.g. id 3 `has_bill_shape::hooked` → group `bill_shape`, value `hooked`.
 * Attributes of one group are mutually exclusive answers to one question ("what shape is the bill?").
 */
export interface CubAttribute {
  /** 1-based id, as in `attributes.txt`. */
  id: number;
  /** The full name, e.g. `has_wing_color::grey`. */
  name: string;
  /** The group without the `has_` prefix, e.g. `wing_color`, `bill_shape`, `size`. */
  group: string;
  /** The value within the group, as written by CUB, e.g. `grey`, `curved_(up_or_down)`, `small_(5_-_9_in)`. */
  value: string;
}

/**
 * Splits a CUB attribute name `has_<group>::<value>` into its group and value; `undefined` when the name does
 * not have that form.
 */
export function parseCubAttributeName(name: string): { group: string; value: string } | undefined {
  const m = /^(?:has_)?([^:]+)::(.+)$/.exec(name);
  return m ? { group: m[1]!, value: m[2]! } : undefined;
}

/**
 * The readable species name of a CUB class folder name: `001.Black_footed_Albatross` → `Black-footed Albatross`.
 * The numeric prefix is dropped; an underscore before a lower-case word becomes a hyphen (CUB kept the case of
 * hyphenated words), any other underscore a space.
 */
export function readableCubClassName(className: string): string {
  const bare = className.replace(/^\d+\./, "");
  return bare
    .replace(/_(?=[a-z])/g, "-")
    .replace(/_/g, " ")
    .trim();
}
