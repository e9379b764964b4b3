import { attributeValuePhrase, isAskableGroup } from "./attribute-phrases.js";
import type { CubAttribute } from "./cub-attribute.js";
import type { CubDataset, CubImage } from "./cub-dataset.js";
import type { NABirdsDataset, NABirdsImage } from "./nabirds-dataset.js";

/**
 * One thing known about an image, with where it comes from: the species label, an attribute group's decisive
 * value, or a level of the NABirds hierarchy. Every BirdQA answer is one fact's `answer` (or yes/no about one
 * fact), so each can be traced back to an annotation.
 */
export interface BirdFact {
  kind: "species" | "attribute" | "group" | "plumage";
  /** The attribute group (`wing_color`) or hierarchy level (`group`, `broad-group`); `species` or `plumage` otherwise. */
  topic: string;
  /** The answer, readable: `Black-footed Albatross`, `grey`, `hooked`, `Ducks, Geese, and Swans`. */
  answer: string;
  /** Answers that are decisively wrong for this image (for "no" questions): other species, absent values. */
  negatives: string[];
  /** The annotation the fact comes from. */
  source: "class-label" | "image-attributes" | "class-attributes" | "hierarchy";
  /** The CUB attribute id behind an attribute fact. */
  attributeId?: number;
  /** For `class-attributes`: the class's percentage for the answer and for the runner-up value. */
  percent?: number;
  runnerUpPercent?: number;
  /** The hierarchy node behind a NABirds group, species or plumage fact. */
  classId?: number;
}

/** When a class-level or image-level attribute value is decisive enough to ask about. */
export interface FactThresholds {
  /** Class-level: the top value of a group must reach this percentage. Default 50. */
  minClassPercent?: number;
  /** Class-level: and lead the runner-up by this many points. Default 20. */
  minClassMargin?: number;
  /** Class-level: a value at or under this percentage counts as absent (a "no" answer). Default 5. */
  maxAbsentPercent?: number;
  /** Image-level: a label counts when its certainty id is at least this (3 = probably). Default 3. */
  minCertainty?: number;
}

const DEFAULTS: Required<FactThresholds> = {
  minClassPercent: 50,
  minClassMargin: 20,
  maxAbsentPercent: 5,
  minCertainty: 3,
};

/** The attributes of a dataset grouped by group, in order of first appearance. */
function groupsOf(attributes: readonly CubAttribute[]): Map<string, CubAttribute[]> {
  const groups = new Map<string, CubAttribute[]>();
  for (const a of attributes) if (isAskableGroup(a.group)) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  return groups;
}

/** Computes the facts of CUB images: species, and attributes from image-level labels when the dataset has them, else class-level values. */
export class CubFacts {
  private readonly t: Required<FactThresholds>;
  private readonly classFacts = new Map<number, BirdFact[]>();
  private readonly groups: Map<string, CubAttribute[]>;

  constructor(
    private readonly dataset: CubDataset,
    thresholds: FactThresholds = {},
  ) {
    this.t = { ...DEFAULTS, ...thresholds };
    this.groups = groupsOf(dataset.attributes ?? []);
  }

  /** All facts of one image: its species first, then one per decisive attribute group. */
  facts(image: CubImage): BirdFact[] {
    const species: BirdFact = {
      kind: "species",
      topic: "species",
      answer: image.label,
      negatives: this.dataset.classes.filter((c) => c.id !== image.classId).map((c) => c.label),
      source: "class-label",
    };
    if (this.dataset.hasImageAttributes) return [species, ...this.imageAttributeFacts(image)];
    if (this.dataset.hasClassAttributes) return [species, ...this.classAttributeFacts(image.classId)];
    return [species];
  }

  private classAttributeFacts(classId: number): BirdFact[] {
    const cached = this.classFacts.get(classId);
    if (cached) return cached;
    const values = this.dataset.classAttributes(classId);
    const facts: BirdFact[] = [];
    for (const [group, attrs] of this.groups) {
      const ranked = attrs
        .map((a) => ({ a, percent: values[a.id - 1]!.percent }))
        .sort((x, y) => y.percent - x.percent);
      const top = ranked[0]!;
      const second = ranked[1]?.percent ?? 0;
      if (top.percent < this.t.minClassPercent || top.percent - second < this.t.minClassMargin) continue;
      facts.push({
        kind: "attribute",
        topic: group,
        answer: attributeValuePhrase(group, top.a.value),
        negatives: ranked
          .filter((r) => r.percent <= this.t.maxAbsentPercent)
          .map((r) => attributeValuePhrase(group, r.a.value)),
        source: "class-attributes",
        attributeId: top.a.id,
        percent: top.percent,
        runnerUpPercent: second,
      });
    }
    this.classFacts.set(classId, facts);
    return facts;
  }

  private imageAttributeFacts(image: CubImage): BirdFact[] {
    const labels = this.dataset.imageAttributes(image.imageId);
    const classValues = this.dataset.hasClassAttributes ? this.dataset.classAttributes(image.classId) : undefined;
    const facts: BirdFact[] = [];
    for (const [group, attrs] of this.groups) {
      const present = attrs.filter(
        (a) => labels[a.id - 1]!.present && labels[a.id - 1]!.certainty >= this.t.minCertainty,
      );
      if (present.length !== 1) continue;
      const absent = attrs.filter(
        (a) =>
          !labels[a.id - 1]!.present && (!classValues || classValues[a.id - 1]!.percent <= this.t.maxAbsentPercent),
      );
      facts.push({
        kind: "attribute",
        topic: group,
        answer: attributeValuePhrase(group, present[0]!.value),
        negatives: absent.map((a) => attributeValuePhrase(group, a.value)),
        source: "image-attributes",
        attributeId: present[0]!.id,
      });
    }
    return facts;
  }
}

/** Computes the facts of NABirds images: species, plumage (when the leaf is a plumage of a species) and groups. */
export class NABirdsFacts {
  private readonly speciesNames: string[];

  constructor(private readonly dataset: NABirdsDataset) {
    this.speciesNames = [...new Set(dataset.leafClasses().map((c) => dataset.speciesOf(c.id).name))];
  }

  facts(image: NABirdsImage): BirdFact[] {
    const ds = this.dataset;
    const species = ds.speciesOf(image.classId);
    const facts: BirdFact[] = [
      {
        kind: "species",
        topic: "species",
        answer: species.name,
        negatives: this.speciesNames.filter((n) => n !== species.name),
        source: "hierarchy",
        classId: species.id,
      },
    ];
    const plumage = /\(([^)]*)\)\s*$/.exec(image.className)?.[1]?.trim();
    if (plumage && species.id !== image.classId) {
      const siblings = ds.children(species.id).filter((c) => c.id !== image.classId);
      const others = siblings
        .map((c) => /\(([^)]*)\)\s*$/.exec(c.name)?.[1]?.trim())
        .filter((p): p is string => !!p && p !== plumage);
      facts.push({
        kind: "plumage",
        topic: "plumage",
        answer: plumage,
        negatives: others,
        source: "hierarchy",
        classId: image.classId,
      });
    }
    const groups = ds.groupsOf(image.classId);
    groups.forEach((g, k) => {
      const siblings =
        g.parentId === undefined
          ? []
          : ds.children(g.parentId).filter((c) => c.id !== g.id && ds.children(c.id).length > 0);
      const topic = k === groups.length - 1 && groups.length > 1 ? "broad-group" : "group";
      facts.push({
        kind: "group",
        topic,
        answer: g.name,
        negatives: siblings.map((c) => c.name),
        source: "hierarchy",
        classId: g.id,
      });
    });
    return facts;
  }
}
