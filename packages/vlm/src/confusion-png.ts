import sharp from "sharp";
import { mostConfusedPairs, type ConfusedPair } from "./report-summary.js";

/** Options of the confusion pictures. */
export interface ConfusionPngOptions {
  /** A line above the picture. */
  title?: string;
  /** Up to this many species the whole matrix is drawn, past it the most confused pairs. Default 30. */
  maxMatrixClasses?: number;
  /** Pairs in the chart of the most confused pairs. Default 20. */
  pairs?: number;
}

const FONT = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif"`;
/** White to dark blue: the share of a true species' images (0 to 1). */
const STOPS: Array<[number, [number, number, number]]> = [
  [0, [255, 255, 255]],
  [0.25, [198, 219, 239]],
  [0.5, [107, 174, 214]],
  [0.75, [33, 113, 181]],
  [1, [8, 48, 107]],
];

function colour(v: number): string {
  const x = Math.min(1, Math.max(0, v));
  let k = 1;
  while (k < STOPS.length - 1 && STOPS[k]![0] < x) k++;
  const [x0, c0] = STOPS[k - 1]!,
    [x1, c1] = STOPS[k]!;
  const t = (x - x0) / (x1 - x0);
  return `rgb(${c0.map((c, i) => Math.round(c + (c1[i]! - c) * t)).join(",")})`;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
/** Width of a text in pixels, roughly (DejaVu Sans averages ~0.6 em). */
const textWidth = (s: string, font: number) => Math.ceil(s.length * font * 0.6);

function svgOf(body: string, w: number, h: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ${FONT}><rect width="${w}" height="${h}" fill="white"/>${body}</svg>`;
}

const png = (svg: string) => sharp(Buffer.from(svg)).png().toBuffer();

/**
 * The readable view of a species confusion matrix (rows: true species, columns: the species a free answer named, plus
 * a last column for answers naming none): the whole matrix with names at few species, else the most confused pairs.
 */
export function confusionPng(
  matrix: number[][],
  names: readonly string[],
  options: ConfusionPngOptions = {},
): Promise<Buffer> {
  return matrix.length <= (options.maxMatrixClasses ?? 30)
    ? confusionMatrixPng(matrix, names, options.title)
    : confusedPairsPng(mostConfusedPairs(matrix, names, options.pairs ?? 20), options.title);
}

/**
 * A confusion matrix as a PNG heat map: each row coloured by the share of the true species' images (a colour scale
 * beside it), counts in the cells, the species names along both axes, the diagonal (right answers) outlined.
 */
export function confusionMatrixPng(matrix: number[][], names: readonly string[], title?: string): Promise<Buffer> {
  return png(confusionMatrixSvg(matrix, names, title));
}

/** The SVG that `confusionMatrixPng` renders. */
export function confusionMatrixSvg(matrix: number[][], names: readonly string[], title?: string): string {
  const n = matrix.length,
    cols = matrix[0]?.length ?? 0;
  const colNames = Array.from({ length: cols }, (_, j) => (j < names.length ? names[j]! : "(no species named)"));
  const cell = Math.max(14, Math.min(32, Math.floor(640 / Math.max(cols, 1))));
  const font = 12;
  const left = 24 + Math.max(60, ...names.slice(0, n).map((s) => textWidth(s, font))) + 8;
  const top = (title ? 28 : 8) + 20 + Math.max(60, ...colNames.map((s) => textWidth(s, font))) + 8;
  const gridW = cols * cell,
    gridH = n * cell;
  const scaleX = left + gridW + 24;
  const w = scaleX + 110,
    h = Math.max(top + gridH + 16, top + 220);
  const p: string[] = [];
  if (title)
    p.push(`<text x="${w / 2}" y="20" font-size="15" font-weight="bold" text-anchor="middle">${esc(title)}</text>`);
  // axis titles
  p.push(
    `<text x="${left + gridW / 2}" y="${(title ? 28 : 8) + 14}" font-size="13" text-anchor="middle" fill="#333">species named in the answer</text>`,
    `<text transform="translate(16,${top + gridH / 2}) rotate(-90)" font-size="13" text-anchor="middle" fill="#333">true species</text>`,
  );
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => {
      const share = total ? v / total : 0;
      const x = left + j * cell,
        y = top + i * cell;
      p.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${colour(share)}" stroke="#e4e4e4" stroke-width="0.5"/>`,
      );
      if (v > 0 && cell >= 18)
        p.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="${Math.min(11, cell - 6)}" text-anchor="middle" fill="${share > 0.5 ? "white" : "#222"}">${v}</text>`,
        );
    });
    p.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="${font}" text-anchor="end">${esc(names[i] ?? "")}</text>`,
    );
  });
  for (let i = 0; i < Math.min(n, cols); i++)
    p.push(
      `<rect x="${left + i * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="none" stroke="#111" stroke-width="1.5"/>`,
    );
  colNames.forEach((name, j) => {
    const x = left + j * cell + cell / 2 + 4;
    p.push(
      `<text transform="translate(${x},${top - 6}) rotate(-90)" font-size="${font}"${j >= names.length ? ` fill="#777"` : ""}>${esc(name)}</text>`,
    );
  });
  // colour scale: share of the true species' images
  const barH = 160,
    barY = top;
  for (let k = 0; k < 40; k++) {
    const v = 1 - k / 40;
    p.push(
      `<rect x="${scaleX}" y="${barY + (k * barH) / 40}" width="16" height="${barH / 40 + 0.5}" fill="${colour(v)}"/>`,
    );
  }
  p.push(`<rect x="${scaleX}" y="${barY}" width="16" height="${barH}" fill="none" stroke="#888"/>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1])
    p.push(
      `<line x1="${scaleX + 16}" x2="${scaleX + 20}" y1="${barY + (1 - t) * barH}" y2="${barY + (1 - t) * barH}" stroke="#444"/>`,
      `<text x="${scaleX + 23}" y="${barY + (1 - t) * barH + 4}" font-size="11">${Math.round(t * 100)}%</text>`,
    );
  p.push(
    `<text x="${scaleX}" y="${barY + barH + 18}" font-size="11" fill="#333">share of the</text>`,
    `<text x="${scaleX}" y="${barY + barH + 32}" font-size="11" fill="#333">row's images</text>`,
  );
  return svgOf(p.join(""), w, h);
}

/**
 * The most confused species pairs as a horizontal bar chart: one bar per pair (`true → answered`), as long as the
 * share of the true species' images answered as the other, labelled with the count; an axis in percent.
 */
export function confusedPairsPng(pairs: readonly ConfusedPair[], title?: string): Promise<Buffer> {
  return png(confusedPairsSvg(pairs, title));
}

/** The SVG that `confusedPairsPng` renders. */
export function confusedPairsSvg(pairs: readonly ConfusedPair[], title?: string): string {
  const font = 12,
    row = 22;
  const labels = pairs.map((q) => `${q.truth} → ${q.answered}`);
  const left = 12 + Math.max(160, ...labels.map((s) => textWidth(s, font))) + 10;
  const barW = 380;
  const top = (title ? 30 : 8) + 40;
  const w = left + barW + 130,
    h = top + Math.max(1, pairs.length) * row + 40;
  const maxShare = Math.max(0.1, ...pairs.map((q) => q.share));
  const tick = maxShare <= 0.5 ? 0.1 : 0.2;
  const ticks = Math.ceil(maxShare / tick - 1e-9);
  const axisMax = ticks * tick;
  const X = (v: number) => left + (v / axisMax) * barW;
  const p: string[] = [];
  const heading = title ?? "Species answers";
  p.push(
    `<text x="12" y="20" font-size="15" font-weight="bold">${esc(`${heading}: the ${pairs.length} most confused species pairs`)}</text>`,
    `<text x="12" y="${top - 22}" font-size="12" fill="#333">true species → species named in the answer</text>`,
    `<text x="${left}" y="${top - 22}" font-size="12" fill="#333">share of the true species' images (count)</text>`,
  );
  if (!pairs.length)
    p.push(`<text x="12" y="${top + 16}" font-size="${font}">no species was confused with another</text>`);
  for (let k = 0; k <= ticks; k++) {
    const v = k * tick;
    p.push(
      `<line x1="${X(v)}" x2="${X(v)}" y1="${top - 4}" y2="${top + pairs.length * row}" stroke="#e4e4e4"/>`,
      `<text x="${X(v)}" y="${top + Math.max(1, pairs.length) * row + 16}" font-size="11" text-anchor="middle">${Math.round(v * 100)}%</text>`,
    );
  }
  pairs.forEach((q, k) => {
    const y = top + k * row;
    const total = Math.round(q.count / q.share);
    p.push(
      `<text x="${left - 8}" y="${y + row / 2 + 4}" font-size="${font}" text-anchor="end">${esc(labels[k]!)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, X(q.share) - left)}" height="${row - 6}" fill="${colour(0.35 + 0.65 * (q.share / axisMax))}"/>`,
      `<text x="${X(q.share) + 6}" y="${y + row / 2 + 4}" font-size="11">${q.count} of ${total} (${Math.round(q.share * 100)}%)</text>`,
    );
  });
  p.push(`<line x1="${left}" x2="${left}" y1="${top - 4}" y2="${top + pairs.length * row}" stroke="#444"/>`);
  return svgOf(p.join(""), w, h);
}
