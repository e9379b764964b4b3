import { IGNORE_INDEX, type LabeledSequence } from "./labels.js";
import type { PaddedIds } from "./birdvlm.js";

/** A right-padded training batch: ids, mask and labels `[B][T]` (labels -100 on padding). */
export interface CollatedBatch extends PaddedIds {
  labels: number[][];
}

/** Right-pads sequences to the longest with `padId` (mask 0, label -100). */
export function collate(sequences: readonly LabeledSequence[], padId: number): CollatedBatch {
  const t = Math.max(...sequences.map((s) => s.ids.length));
  const ids: number[][] = [],
    mask: number[][] = [],
    labels: number[][] = [];
  for (const s of sequences) {
    const pad = t - s.ids.length;
    ids.push([...s.ids, ...new Array<number>(pad).fill(padId)]);
    mask.push([...new Array<number>(s.ids.length).fill(1), ...new Array<number>(pad).fill(0)]);
    labels.push([...s.labels, ...new Array<number>(pad).fill(IGNORE_INDEX)]);
  }
  return { ids, mask, labels };
}
