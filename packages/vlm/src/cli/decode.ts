import type { ImageSource } from "@birdvlm/data";
import type { BirdVLM } from "../birdvlm.js";
import { ImageTable } from "../image-table.js";

/** Decodes the images `ids` at the model's size (cropped to their boxes when the model was trained so). */
export async function decodeForModel(
  vlm: BirdVLM,
  ids: string[],
  sources: Map<string, ImageSource>,
  log: (line: string) => void,
): Promise<ImageTable> {
  log(`decoding ${ids.length} images at ${vlm.encoder.imageSize} px${vlm.cropToBox ? ", cropped to their boxes" : ""}`);
  return ImageTable.fromFiles(
    ids,
    ids.map((id) => sources.get(id)!),
    vlm.encoder,
    { cropToBox: vlm.cropToBox },
  );
}
