import type { TextTokenizer } from "@birdvlm/core";

/** The LLaVA placeholder for an image in conversation text. */
export const LLAVA_IMAGE_PLACEHOLDER = "<image>";

/**
 * Reserved, never-trained tokens an image marker may take, in order of preference: a dedicated
 * `<|image_pad|>` when the vocabulary has one, else Phi-3's `<|placeholder1|>`.
 */
export const IMAGE_MARKER_CANDIDATES = ["<|image_pad|>", "<|placeholder1|>"] as const;

/** The token that marks one image-embedding slot in a prompt. */
export interface ImageMarker {
  /** Its text, e.g. `<|placeholder1|>`. */
  token: string;
  /** Its id in the tokenizer's vocabulary. */
  id: number;
}

/** Finds the image marker of a tokenizer (`token` forces one); errors say which tokens were looked for. */
export function resolveImageMarker(tokenizer: TextTokenizer, token?: string): ImageMarker {
  const candidates = token ? [token] : [...IMAGE_MARKER_CANDIDATES];
  for (const t of candidates) {
    const id = tokenizer.tokenToId(t);
    if (id !== undefined) {
      const ids = tokenizer.encode(t, { addSpecialTokens: false });
      if (ids.length !== 1 || ids[0] !== id) {
        throw new Error(
          `image marker '${t}' does not encode to the single id ${id} (got [${ids}]): add it to the tokenizer as a special token`,
        );
      }
      return { token: t, id };
    }
  }
  throw new Error(
    `the tokenizer has none of the image marker tokens ${candidates.join(", ")}: add a reserved special token (e.g. <|image_pad|>) to tokenizer.json`,
  );
}

/**
 * Replaces the LLaVA `<image>` placeholder by `k` marker tokens. Text without a placeholder gets the markers
 * first, on their own line (LLaVA puts the image before the question).
 */
export function insertImageMarkers(text: string, marker: ImageMarker, k: number): string {
  const markers = marker.token.repeat(k);
  if (text.includes(LLAVA_IMAGE_PLACEHOLDER))
    return text.replace(LLAVA_IMAGE_PLACEHOLDER, markers).replaceAll(LLAVA_IMAGE_PLACEHOLDER, "");
  return `${markers}\n${text}`;
}

/** Checks that `ids` hold exactly `k` markers, naming the prompt index and the count when they do not. */
export function checkMarkerCount(ids: readonly number[], marker: ImageMarker, k: number, where = "prompt"): void {
  let n = 0;
  for (const id of ids) if (id === marker.id) n++;
  if (n !== k) {
    throw new Error(
      `${where} holds ${n} image marker${n === 1 ? "" : "s"} '${marker.token}' but the connector produces ${k} image tokens: put exactly one '<image>' in the first user turn (BirdVLM expands it to ${k} markers)`,
    );
  }
}
