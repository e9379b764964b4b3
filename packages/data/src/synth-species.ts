import type { Rng } from "@birdvlm/core";

/** The colours SynthBirds paints parts with: CUB colour names, chosen to stay apart under lighting changes. */
export const SYNTH_COLORS = {
  red: "#d7263d",
  blue: "#1f5fd6",
  yellow: "#f5d01f",
  green: "#2fa84f",
  black: "#1b1b1b",
  white: "#f4f4ee",
  grey: "#8e9196",
  brown: "#7b4a23",
  orange: "#f2801f",
  purple: "#7d3cb5",
} as const;

export type SynthColor = keyof typeof SYNTH_COLORS;
/** Bill shapes SynthBirds draws, by their CUB value names. */
export type SynthBill = "cone" | "hooked" | "needle" | "dagger" | "all-purpose" | "curved_(up_or_down)";
export type SynthSize = "small" | "medium" | "large";
export type SynthBreastPattern = "solid" | "spotted" | "striped";
export type SynthWingPattern = "solid" | "striped";

export const SYNTH_BILLS: readonly SynthBill[] = [
  "cone",
  "hooked",
  "needle",
  "dagger",
  "all-purpose",
  "curved_(up_or_down)",
];
export const SYNTH_SIZES: readonly SynthSize[] = ["small", "medium", "large"];
export const SYNTH_BREAST_PATTERNS: readonly SynthBreastPattern[] = ["solid", "spotted", "striped"];
export const SYNTH_WING_PATTERNS: readonly SynthWingPattern[] = ["solid", "striped"];

/** The CUB `has_size::` value of each SynthBirds size. */
export const CUB_SIZE_VALUES: Record<SynthSize, string> = {
  small: "small_(5_-_9_in)",
  medium: "medium_(9_-_16_in)",
  large: "large_(16_-_32_in)",
};

/** A SynthBirds species: everything that tells it apart is drawn. */
export interface SynthSpecies {
  /** 1-based class id. */
  id: number;
  /** CUB-style folder name, e.g. `003.Red_capped_Blue_winged_Finch`. */
  name: string;
  /** Readable name, e.g. `Red-capped Blue-winged Finch`. */
  label: string;
  crown: SynthColor;
  wing: SynthColor;
  breast: SynthColor;
  tail: SynthColor;
  bill: SynthBill;
  size: SynthSize;
  breastPattern: SynthBreastPattern;
  wingPattern: SynthWingPattern;
}

/** The family word of a species name, from its bill. */
const FAMILY: Record<SynthBill, string> = {
  cone: "Finch",
  hooked: "Shrike",
  needle: "Hummingbird",
  dagger: "Heron",
  "all-purpose": "Warbler",
  "curved_(up_or_down)": "Curlew",
};

type Traits = Omit<SynthSpecies, "id" | "name" | "label">;

function differences(a: Traits, b: Traits): { all: number; colors: number } {
  const colors = (["crown", "wing", "breast", "tail"] as const).filter((k) => a[k] !== b[k]).length;
  const others = (["bill", "size", "breastPattern", "wingPattern"] as const).filter((k) => a[k] !== b[k]).length;
  return { all: colors + others, colors };
}

/**
 * Designs `count` species, each pair differing in at least three drawn traits, two of them part colours, and
 * each with a unique name (crown, wing and bill). Within a bird the crown and wings differ from the breast,
 * so every part stands out. Deterministic for the generator's state.
 */
export function designSynthSpecies(count: number, rng: Rng): SynthSpecies[] {
  const colors = Object.keys(SYNTH_COLORS) as SynthColor[];
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const chosen: Traits[] = [];
  const names = new Set<string>();
  for (let tries = 0; chosen.length < count; tries++) {
    if (tries > 200_000)
      throw new Error(`designSynthSpecies: cannot design ${count} distinct species (at most about 150 are possible)`);
    const t: Traits = {
      crown: pick(colors),
      wing: pick(colors),
      breast: pick(colors),
      tail: pick(colors),
      bill: pick(SYNTH_BILLS),
      size: pick(SYNTH_SIZES),
      breastPattern: pick(SYNTH_BREAST_PATTERNS),
      wingPattern: pick(SYNTH_WING_PATTERNS),
    };
    if (t.crown === t.breast || t.wing === t.breast || t.crown === t.wing) continue;
    const key = `${t.crown}|${t.wing}|${t.bill}`;
    if (names.has(key)) continue;
    const strict = tries < 100_000;
    if (
      chosen.some((c) => {
        const d = differences(c, t);
        return strict ? d.all < 3 || d.colors < 2 : d.all < 2;
      })
    )
      continue;
    chosen.push(t);
    names.add(key);
  }
  return chosen.map((t, i) => {
    const words = [`${cap(t.crown)}_capped`, `${cap(t.wing)}_winged`, FAMILY[t.bill]];
    const bare = words.join("_");
    return {
      id: i + 1,
      name: `${String(i + 1).padStart(3, "0")}.${bare}`,
      label: bare.replace(/_(?=[a-z])/g, "-").replace(/_/g, " "),
      ...t,
    };
  });
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
