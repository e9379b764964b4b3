/** Lower case, letters and digits only, single spaces: `"Red-winged  Blackbird!"` → `"red winged blackbird"`. */
export function normalizeText(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Whether `needle` occurs in `haystack` as whole words (both normalized). */
export function containsWords(haystack: string, needle: string): boolean {
  const h = ` ${normalizeText(haystack)} `,
    n = normalizeText(needle);
  return n.length > 0 && h.includes(` ${n} `);
}

/** The species a free answer names: the longest candidate name found in it as whole words, or `undefined`. */
export function speciesInAnswer(answer: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const name of names) {
    if (containsWords(answer, name) && (!best || normalizeText(name).length > normalizeText(best).length)) best = name;
  }
  return best;
}
