import sharp from "sharp";

/**
 * Renders a confusion matrix (rows: true class, columns: predicted, plus a last "none" column) as a PNG heat map,
 * each row scaled by its total, with the class names as labels.
 */
export async function confusionMatrixPng(matrix: number[][], names: readonly string[]): Promise<Buffer> {
  const n = matrix.length,
    cols = matrix[0]?.length ?? 0;
  const cell = Math.max(6, Math.min(28, Math.floor(720 / Math.max(cols, 1))));
  const font = Math.min(12, cell - 2);
  const longest = Math.max(6, ...names.map((n) => n.length));
  const label = cell >= 12 ? Math.min(360, Math.ceil(longest * font * 0.62) + 8) : 0;
  const w = label + cols * cell + 10,
    h = label + n * cell + 10;
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const parts: string[] = [`<rect width="${w}" height="${h}" fill="white"/>`];
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, j) => {
      const shade = Math.round(255 * (1 - v / total));
      const fill = j === i ? `rgb(${shade},${shade},255)` : `rgb(255,${shade},${shade})`;
      parts.push(
        `<rect x="${label + j * cell}" y="${label + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"/>`,
      );
    });
    if (label)
      parts.push(
        `<text x="${label - 4}" y="${label + i * cell + cell * 0.7}" font-size="${font}" text-anchor="end" font-family="sans-serif">${esc(names[i] ?? "")}</text>`,
      );
  });
  if (label) {
    for (let j = 0; j < cols; j++) {
      const x = label + j * cell + cell * 0.7;
      parts.push(
        `<text transform="translate(${x},${label - 4}) rotate(-90)" font-size="${font}" font-family="sans-serif">${esc(j < names.length ? names[j]! : "(none)")}</text>`,
      );
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${parts.join("")}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
