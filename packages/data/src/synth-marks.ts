/**
 * The breast and wing patterns of a SynthBirds bird (stripes, spots, plain), in the bird's own units, with the points
 * on and between the marks that tell a pattern's visibility; drawn by `synth-bird-svg.ts`.
 */
import { SYNTH_COLORS, type SynthSpecies } from "./synth-species.js";

/** Marks (stripe widths, spot diameters, the gaps between them) are at least this many pixels wide, so a pattern stays visible on small pictures. */
const MIN_MARK_PX = 1.6;

/** The wing's ellipse in bird units (the body is centred on the origin, facing right). */
export const WING = { cx: -7, cy: -5, rx: 21, ry: 10.5, angle: -8 };
/** How far a point is inside an ellipse: < 1 inside, 1 on the edge. */
function ellipseValue(
  x: number,
  y: number,
  e: { cx: number; cy: number; rx: number; ry: number; angle?: number },
): number {
  const a = ((e.angle ?? 0) * Math.PI) / 180;
  const dx = x - e.cx,
    dy = y - e.cy;
  const u = dx * Math.cos(a) + dy * Math.sin(a),
    v = -dx * Math.sin(a) + dy * Math.cos(a);
  return (u / e.rx) ** 2 + (v / e.ry) ** 2;
}
/** The breast as seen: the body below and in front of the wing, away from the head and the outline. */
function onBreast(x: number, y: number): boolean {
  return (
    y > 0 &&
    x > 6 &&
    ellipseValue(x, y, { cx: 0, cy: 0, rx: 30, ry: 19 }) < 0.72 &&
    ellipseValue(x, y, WING) > 1.3 &&
    Math.hypot(x - 30, y + 18) > 15
  );
}
/** The wing as seen: inside its ellipse, away from the outline. */
function onWing(x: number, y: number): boolean {
  return ellipseValue(x, y, WING) < 0.6;
}

/** The marks of one part: their SVG, and points on them and away from them (bird units). */
export interface Marks {
  svg: string;
  /** Centres of the marks, and points of the part away from them (bird units). */
  marks: Array<[number, number]>;
  plain: Array<[number, number]>;
}

/** A grid of points of a part, every `step` units. */
function grid(
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  step: number,
  keep: (x: number, y: number) => boolean,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let y = y0; y <= y1; y += step) for (let x = x0; x <= x1; x += step) if (keep(x, y)) out.push([x, y]);
  return out;
}

/**
 * Slanted stripes across `[x0, x1]` (x shifts by `slant` per unit of y), each `width` wide with gaps as wide,
 * and points on their centre lines and halfway between them, within `keep`.
 */
function stripes(
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  slant: number,
  width: number,
  color: string,
  keep: (x: number, y: number) => boolean,
): Marks {
  const count = Math.max(2, Math.floor((x1 - x0) / (2 * width)) + 1);
  const spacing = Math.max(2 * width, (x1 - x0) / (count - 1));
  const xs = Array.from({ length: count }, (_, k) => x0 + k * spacing);
  const along = (x: number, t: number): [number, number] => [x + slant * (t - y0), t];
  const marks: Array<[number, number]> = [],
    plain: Array<[number, number]> = [];
  for (let t = y0; t <= y1; t += 1) {
    for (const x of xs) {
      const p = along(x, t);
      if (keep(...p)) marks.push(p);
    }
    for (const x of xs.slice(1)) {
      const p = along(x - spacing / 2, t);
      if (keep(...p)) plain.push(p);
    }
  }
  const lines = xs.map((x) => {
    const [a, b] = along(x, y0 - 6),
      [c, d] = along(x, y1 + 6);
    return `<line x1="${f(a)}" y1="${f(b)}" x2="${f(c)}" y2="${f(d)}"/>`;
  });
  return { svg: `<g stroke="${color}" stroke-width="${f(width)}">${lines.join("")}</g>`, marks, plain };
}

/** Round spots `diameter` wide on a staggered grid, with gaps about as wide, and points on them and between them. */
function spots(
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  diameter: number,
  color: string,
  keep: (x: number, y: number) => boolean,
): Marks {
  const r = diameter / 2,
    step = 2 * diameter;
  const centres: Array<[number, number]> = [];
  for (let row = 0, y = y0; y <= y1; row++, y += step * 0.87) {
    for (let x = x0 + (row % 2 ? step / 2 : 0); x <= x1; x += step) if (keep(x, y)) centres.push([x, y]);
  }
  const plain = grid(
    x0 - step,
    x1 + step,
    y0 - step,
    y1 + step,
    1,
    (x, y) => keep(x, y) && centres.every(([cx, cy]) => Math.hypot(x - cx, y - cy) > r + diameter / 2),
  );
  return {
    svg: `<g fill="${color}" stroke="none">${centres.map(([x, y]) => `<circle cx="${f(x)}" cy="${f(y)}" r="${f(r)}"/>`).join("")}</g>`,
    marks: centres,
    plain,
  };
}

/** The breast's and the wing's marks for a bird drawn at `scale` pixels per unit: wide enough to be seen. */
export function patternMarks(s: SynthSpecies, scale: number): { breast: Marks; wing: Marks } {
  const c = SYNTH_COLORS;
  const mark = (under: keyof typeof SYNTH_COLORS) => (luminance(c[under]) > 0.45 ? "#1e1e1e" : "#f4f4ee");
  const solid = (keep: (x: number, y: number) => boolean, x0: number, x1: number, y0: number, y1: number): Marks => ({
    svg: "",
    marks: [],
    plain: grid(x0, x1, y0, y1, 1, keep),
  });
  const minUnits = MIN_MARK_PX / scale;
  const breast =
    s.breastPattern === "striped"
      ? stripes(10, 27, 2, 15, -0.2, Math.max(1.8, minUnits), mark(s.breast), onBreast)
      : s.breastPattern === "spotted"
        ? spots(11, 28, 3, 14, Math.max(3.6, minUnits), mark(s.breast), onBreast)
        : solid(onBreast, 6, 30, 0, 19);
  const wing =
    s.wingPattern === "striped"
      ? stripes(-20, 2, -14, 4, -0.19, Math.max(2.4, minUnits), mark(s.wing), onWing)
      : solid(onWing, -28, 14, -16, 6);
  return { breast, wing };
}

function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  return (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
}

/** A number as SVG text, to two decimals. */
export function f(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}
