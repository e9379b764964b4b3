/**
 * How CUB attribute groups and values are said in English: the questions asked about a group, the phrase an
 * answer uses for a value, and the yes/no form. `BirdQA` words its questions with these, and an evaluation
 * maps answers back with {@link attributeValuePhrase}.
 */

interface PartNoun {
  noun: string;
  plural: boolean;
}

/** Parts whose colour or pattern CUB annotates, as nouns. */
const PARTS: Record<string, PartNoun> = {
  wing: { noun: "wings", plural: true },
  upperparts: { noun: "upperparts", plural: true },
  underparts: { noun: "underparts", plural: true },
  back: { noun: "back", plural: false },
  upper_tail: { noun: "upper tail", plural: false },
  under_tail: { noun: "under tail", plural: false },
  tail: { noun: "tail", plural: false },
  breast: { noun: "breast", plural: false },
  throat: { noun: "throat", plural: false },
  eye: { noun: "eyes", plural: true },
  forehead: { noun: "forehead", plural: false },
  nape: { noun: "nape", plural: false },
  belly: { noun: "belly", plural: false },
  leg: { noun: "legs", plural: true },
  bill: { noun: "bill", plural: false },
  crown: { noun: "crown", plural: false },
  head: { noun: "head", plural: false },
};

const BILL_SHAPES: Record<string, string> = {
  "curved_(up_or_down)": "curved",
  dagger: "dagger-shaped",
  hooked: "hooked",
  needle: "needle-shaped",
  hooked_seabird: "seabird-hooked",
  spatulate: "spatulate",
  "all-purpose": "all-purpose",
  cone: "cone-shaped",
  specialized: "specialized",
};

const BILL_LENGTHS: Record<string, string> = {
  about_the_same_as_head: "about as long as its head",
  longer_than_head: "longer than its head",
  shorter_than_head: "shorter than its head",
};

/** The kind of question a group asks, from its name. */
type GroupKind =
  | { kind: "color" | "pattern"; part: PartNoun }
  | {
      kind:
        | "primary_color"
        | "bill_shape"
        | "bill_length"
        | "tail_shape"
        | "wing_shape"
        | "size"
        | "shape"
        | "head_pattern"
        | "other";
    };

function groupKind(group: string): GroupKind {
  if (group === "primary_color") return { kind: "primary_color" };
  if (group === "head_pattern") return { kind: "head_pattern" };
  const m = /^(.+)_(color|pattern)$/.exec(group);
  if (m && PARTS[m[1]!]) return { kind: m[2] as "color" | "pattern", part: PARTS[m[1]!]! };
  if (["bill_shape", "bill_length", "tail_shape", "wing_shape", "size", "shape"].includes(group))
    return { kind: group as "size" };
  return { kind: "other" };
}

/**
 * The readable phrase of an attribute value: `bill_shape`/`hooked_seabird` → `seabird-hooked`,
 * `size`/`large_(16_-_32_in)` → `large`, `tail_shape`/`forked_tail` → `forked`, colours as they are.
 */
export function attributeValuePhrase(group: string, value: string): string {
  switch (groupKind(group).kind) {
    case "bill_shape":
      return BILL_SHAPES[value] ?? value.replace(/_/g, " ");
    case "bill_length":
      return BILL_LENGTHS[value] ?? value.replace(/_/g, " ");
    case "size":
      return value.replace(/_?\(.*\)$/, "").replace(/_/g, " ");
    case "tail_shape":
      return value.replace(/_tail$/, "").replace(/_/g, " ");
    case "wing_shape":
      return value.replace(/-wings$/, "").replace(/_/g, " ");
    default:
      return value.replace(/_/g, " ");
  }
}

/** Whether BirdQA knows how to ask about this group (every CUB group; not made-up ones). */
export function isAskableGroup(group: string): boolean {
  return groupKind(group).kind !== "other";
}

/** The wordings of the open question about a group (`What color are the bird's wings?`). */
export function attributeQuestions(group: string): string[] {
  const g = groupKind(group);
  switch (g.kind) {
    case "color": {
      const { noun, plural } = g.part;
      return plural
        ? [
            `What color are the bird's ${noun}?`,
            `What is the color of this bird's ${noun}?`,
            `Which color are its ${noun}?`,
          ]
        : [
            `What color is the bird's ${noun}?`,
            `What is the color of this bird's ${noun}?`,
            `Which color is its ${noun}?`,
          ];
    }
    case "pattern": {
      const { noun, plural } = g.part;
      return [
        `What pattern do${plural ? "" : "es"} the bird's ${noun} have?`,
        `How ${plural ? "are" : "is"} the bird's ${noun} patterned?`,
      ];
    }
    case "primary_color":
      return ["What is the primary color of this bird?", "What is the main color of this bird?"];
    case "head_pattern":
      return ["What pattern does the bird's head have?", "Which head pattern does this bird show?"];
    case "bill_shape":
      return [
        "What shape is the bird's bill?",
        "Describe the shape of this bird's bill.",
        "What kind of bill does this bird have?",
      ];
    case "bill_length":
      return [
        "How long is the bird's bill compared with its head?",
        "How does the bill's length compare with the head?",
      ];
    case "tail_shape":
      return ["What shape is the bird's tail?", "What kind of tail does this bird have?"];
    case "wing_shape":
      return ["What shape are the bird's wings?", "What kind of wings does this bird have?"];
    case "size":
      return ["How big is this bird?", "What size is this bird?"];
    case "shape":
      return ["What is the overall shape of this bird?", "What kind of body shape does this bird have?"];
    default:
      return [`What is the bird's ${group.replace(/_/g, " ")}?`];
  }
}

/** The yes/no question asking whether a group has the value phrased `phrase` (`Are the bird's wings grey?`). */
export function attributeYesNoQuestion(group: string, phrase: string): string {
  const g = groupKind(group);
  switch (g.kind) {
    case "color":
    case "pattern":
      return `${g.part.plural ? "Are" : "Is"} the bird's ${g.part.noun} ${phrase}?`;
    case "primary_color":
      return `Is this bird mostly ${phrase}?`;
    case "head_pattern":
      return `Does the bird's head show a ${phrase} pattern?`;
    case "bill_shape":
      return `Does this bird have ${withArticle(phrase)} bill?`;
    case "bill_length":
      return `Is the bird's bill ${phrase}?`;
    case "tail_shape":
      return `Does this bird have ${withArticle(phrase)} tail?`;
    case "wing_shape":
      return `Does this bird have ${phrase} wings?`;
    case "size":
      return `Is this ${withArticle(phrase)} bird?`;
    default:
      return `Is this bird ${phrase}?`;
  }
}

/**
 * The noun phrase of a fact for a caption (`a hooked bill`, `grey wings`, `a spotted breast`), or `undefined`
 * for groups a caption does not mention.
 */
export function attributeCaptionPhrase(group: string, phrase: string): string | undefined {
  const g = groupKind(group);
  switch (g.kind) {
    case "color":
    case "pattern":
      return g.part.plural ? `${phrase} ${g.part.noun}` : `${withArticle(phrase)} ${g.part.noun}`;
    case "bill_shape":
      return `${withArticle(phrase)} bill`;
    case "tail_shape":
      return `${withArticle(phrase)} tail`;
    case "wing_shape":
      return `${phrase} wings`;
    default:
      return undefined;
  }
}

/** `a` or `an` before a phrase, by its first letter. */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? "an" : "a"} ${phrase}`;
}
