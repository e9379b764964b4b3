import sharp from "sharp";
import { writeFileAtomic } from "../io/atomic.js";
import type { MetricsRecord } from "./metrics-log.js";

/** Options of {@link curvesSvg} and {@link renderCurves}. */
export interface CurvesOptions {
  /**
   * Series to draw, named `<kind>/<metric>` (`train/loss`, `eval/accuracy`). Default: `train/loss` and every
   * numeric metric of the `eval` records.
   */
  series?: string[];
  /** Width of the image in pixels. Default 960. */
  width?: number;
  /** Height of one panel in pixels. Default 260. */
  panelHeight?: number;
  /** Panels per row. Default 2 (1 when there is one series). */
  columns?: number;
  /** Title over the panels. */
  title?: string;
}

/** The points of one series: step → value, in step order, finite values only. */
export interface CurveSeries {
  /** `<kind>/<metric>`, e.g. `train/loss`. */
  name: string;
  /** `[step, value]` pairs. */
  points: Array<[number, number]>;
}

const RESERVED = new Set(["kind", "step", "epoch", "time"]);
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

/** Collects the series to plot from metrics records (see {@link CurvesOptions.series}). */
export function curveSeries(records: MetricsRecord[], series?: string[]): CurveSeries[] {
  const names = series ?? [
    ...(records.some((r) => r.kind === "train" && typeof r.loss === "number") ? ["train/loss"] : []),
    ...[
      ...new Set(
        records
          .filter((r) => r.kind === "eval")
          .flatMap((r) => Object.keys(r).filter((k) => !RESERVED.has(k) && typeof r[k] === "number")),
      ),
    ].map((k) => `eval/${k}`),
  ];
  return names.map((name) => {
    const slash = name.indexOf("/");
    const kind = name.slice(0, slash);
    const metric = name.slice(slash + 1);
    const points = records
      .filter((r) => r.kind === kind && typeof r[metric] === "number" && Number.isFinite(r[metric] as number))
      .map((r) => [r.step, r[metric] as number] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    return { name, points };
  });
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function panel(s: CurveSeries, x0: number, y0: number, w: number, h: number, color: string): string {
  const m = { left: 62, right: 14, top: 26, bottom: 34 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const parts: string[] = [
    `<text x="${x0 + m.left}" y="${y0 + 17}" font-size="14" font-weight="bold">${esc(s.name)}</text>`,
  ];
  parts.push(`<rect x="${x0 + m.left}" y="${y0 + m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  if (s.points.length === 0) {
    parts.push(
      `<text x="${x0 + m.left + pw / 2}" y="${y0 + m.top + ph / 2}" font-size="12" text-anchor="middle" fill="#888">no data</text>`,
    );
    return parts.join("");
  }
  const xs = s.points.map((p) => p[0]);
  const ys = s.points.map((p) => p[1]);
  let [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  let [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
  if (xhi === xlo) {
    xlo -= 1;
    xhi += 1;
  }
  if (yhi === ylo) {
    const d = Math.abs(ylo) * 0.05 || 1;
    ylo -= d;
    yhi += d;
  }
  const pad = (yhi - ylo) * 0.05;
  ylo -= pad;
  yhi += pad;
  const X = (v: number) => x0 + m.left + ((v - xlo) / (xhi - xlo)) * pw;
  const Y = (v: number) => y0 + m.top + (1 - (v - ylo) / (yhi - ylo)) * ph;
  for (const t of niceTicks(ylo, yhi, 5)) {
    parts.push(`<line x1="${x0 + m.left}" x2="${x0 + m.left + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x0 + m.left - 6}" y="${Y(t) + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(xlo, xhi, 6)) {
    parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${y0 + m.top + ph}" y2="${y0 + m.top + ph + 4}" stroke="#888"/>`);
    parts.push(`<text x="${X(t)}" y="${y0 + m.top + ph + 17}" font-size="11" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(
    `<text x="${x0 + m.left + pw / 2}" y="${y0 + h - 3}" font-size="11" text-anchor="middle" fill="#555">step</text>`,
  );
  const path = s.points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(2)},${Y(p[1]).toFixed(2)}`).join("");
  parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
  if (s.points.length <= 60) {
    for (const p of s.points)
      parts.push(`<circle cx="${X(p[0]).toFixed(2)}" cy="${Y(p[1]).toFixed(2)}" r="2.5" fill="${color}"/>`);
  }
  return parts.join("");
}

/** Draws the curves as an SVG document: one panel per series (value against step), laid out in a grid. */
export function curvesSvg(records: MetricsRecord[], options: CurvesOptions = {}): string {
  const series = curveSeries(records, options.series);
  const width = options.width ?? 960;
  const panelHeight = options.panelHeight ?? 260;
  const columns = Math.max(1, Math.min(options.columns ?? 2, series.length || 1));
  const rows = Math.max(1, Math.ceil(series.length / columns));
  const top = options.title ? 30 : 0;
  const height = top + rows * panelHeight;
  const pw = width / columns;
  const body = series.map((s, i) =>
    panel(
      s,
      (i % columns) * pw,
      top + Math.floor(i / columns) * panelHeight,
      pw,
      panelHeight,
      COLORS[i % COLORS.length]!,
    ),
  );
  const title = options.title
    ? `<text x="${width / 2}" y="21" font-size="16" font-weight="bold" text-anchor="middle">${esc(options.title)}</text>`
    : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif"><rect width="100%" height="100%" fill="#fff"/>${title}${body.join("")}</svg>`;
}

/** Renders the curves to a PNG at `path` (rasterized by sharp, written atomically). */
export async function renderCurves(records: MetricsRecord[], path: string, options: CurvesOptions = {}): Promise<void> {
  const png = await sharp(Buffer.from(curvesSvg(records, options)))
    .png()
    .toBuffer();
  await writeFileAtomic(path, (h) => h.writeFile(png));
}
