import type { Rng } from "@birdvlm/core";
import type { BoundingBox } from "./cub-dataset.js";
import { SYNTH_COLORS, type SynthBill, type SynthSize, type SynthSpecies } from "./synth-species.js";
import { f, patternMarks, WING, type Marks } from "./synth-marks.js";

/** A drawn bird: the SVG of the whole picture, the bird's box and its 15 CUB part locations, in pixels. */
export interface DrawnBird {
  svg: string;
  bbox: BoundingBox;
  /** In CUB's `parts.txt` order. */
  parts: Array<{ name: string; x: number; y: number; visible: boolean }>;
  /** What varies from picture to picture, for the record. */
  pose: { facing: "left" | "right"; tilt: number; length: number; brightness: number };
  /**
   * Points (pixels) where each labelled trait can be seen, to check pictures against their labels: the crown,
   * wing, breast and tail colours (`wing` and `breast` away from any marks), and the centres of the breast and
   * wing marks (stripes, spots; empty when the part is solid).
   */
  probes: Record<"crown" | "wing" | "breast" | "tail" | "breastMarks" | "wingMarks", Array<[number, number]>>;
}

/** CUB's 15 part names, in `parts/parts.txt` order. */
export const CUB_PART_NAMES = [
  "back",
  "beak",
  "belly",
  "breast",
  "crown",
  "forehead",
  "left eye",
  "left leg",
  "left wing",
  "nape",
  "right eye",
  "right leg",
  "right wing",
  "tail",
  "throat",
] as const;

/** Bird length (tail tip to bill tip) as a fraction of the image side, by size: ranges that do not overlap. */
const LENGTH_FRACTION: Record<SynthSize, [number, number]> = {
  small: [0.46, 0.54],
  medium: [0.61, 0.69],
  large: [0.77, 0.87],
};

/** Bill outlines in bird units (facing right, body centred at the origin, about 110 units nose to tail). */
const BILLS: Record<SynthBill, { path: string; tip: [number, number]; points: Array<[number, number]> }> = {
  cone: {
    path: "M41 -23 L53 -17 L41 -11 Z",
    tip: [53, -17],
    points: [
      [41, -23],
      [53, -17],
      [41, -11],
    ],
  },
  "all-purpose": {
    path: "M41 -20.5 L54 -17 L41 -14 Z",
    tip: [54, -17],
    points: [
      [41, -20.5],
      [54, -17],
      [41, -14],
    ],
  },
  needle: {
    path: "M41 -18.6 L70 -17 L41 -15.6 Z",
    tip: [70, -17],
    points: [
      [41, -18.6],
      [70, -17],
      [41, -15.6],
    ],
  },
  dagger: {
    path: "M41 -21.5 L63 -17 L41 -12.5 Z",
    tip: [63, -17],
    points: [
      [41, -21.5],
      [63, -17],
      [41, -12.5],
    ],
  },
  hooked: {
    path: "M41 -22 Q52 -23 55 -17 Q56 -12 52 -10 Q53 -14 49 -14 L41 -13 Z",
    tip: [55, -14],
    points: [
      [41, -22],
      [55, -18],
      [56, -12],
      [52, -10],
      [41, -13],
    ],
  },
  "curved_(up_or_down)": {
    path: "M41 -20 Q56 -21 64 -5 L61 -4 Q54 -15 41 -14 Z",
    tip: [63, -5],
    points: [
      [41, -20],
      [56, -17],
      [64, -5],
      [61, -4],
      [41, -14],
    ],
  },
};

/** Part locations in bird units, in {@link CUB_PART_NAMES} order; `side` marks parts seen only from one side. */
const PARTS: Array<{ at: [number, number]; side?: "left" | "right" }> = [
  { at: [-10, -15] }, // back
  { at: [0, 0] }, // beak (set from the bill)
  { at: [2, 13] }, // belly
  { at: [20, 4] }, // breast
  { at: [30, -27] }, // crown
  { at: [39, -25] }, // forehead
  { at: [34, -20], side: "left" }, // left eye
  { at: [1, 29] }, // left leg
  { at: [-5, -6], side: "left" }, // left wing (moved between the wing bars)
  { at: [20, -24] }, // nape
  { at: [34, -20], side: "right" }, // right eye
  { at: [8, 29] }, // right leg
  { at: [-5, -6], side: "right" }, // right wing
  { at: [-44, 2] }, // tail
  { at: [35, -11] }, // throat
];

const OUTLINE = "#202020";
/**
 * Draws one picture of a bird of `species` on a `size` x `size` canvas: pose (facing, tilt), length within the
 * species' size range, position, background (gradient, leaves, a branch) and lighting vary with `rng`.
 */
export function drawSynthBird(species: SynthSpecies, size: number, rng: Rng): DrawnBird {
  const u = (lo: number, hi: number) => lo + rng.float() * (hi - lo);
  const facing = rng.float() < 0.5 ? 1 : -1;
  const tilt = u(-15, 15);
  const [fLo, fHi] = LENGTH_FRACTION[species.size];
  const bill = BILLS[species.bill];
  const localLength = bill.tip[0] + 52;
  const scale = (u(fLo, fHi) * size) / localLength;
  const cos = Math.cos((tilt * Math.PI) / 180);
  const sin = Math.sin((tilt * Math.PI) / 180);
  const rotate = ([x, y]: [number, number]): [number, number] => {
    const a = facing * scale * x;
    const b = scale * y;
    return [a * cos - b * sin, a * sin + b * cos];
  };

  // Outline points of every shape, to place the bird inside the frame and to box it.
  const outline: Array<[number, number]> = [];
  for (let k = 0; k < 32; k++) {
    const t = (2 * Math.PI * k) / 32;
    outline.push([30 * Math.cos(t), 19 * Math.sin(t)], [30 + 12.5 * Math.cos(t), -18 + 12.5 * Math.sin(t)]);
  }
  outline.push([-24, -6], [-52, -4], [-52, 8], [-24, 6], [0, 31], [9, 31], ...bill.points);
  const rotated = outline.map(rotate);
  const xs = rotated.map((p) => p[0]);
  const ys = rotated.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 0.03 * size;
  const tx = u(pad - minX, Math.max(pad - minX, size - pad - maxX));
  const ty = u(pad - minY, Math.max(pad - minY, size - pad - maxY));
  const place = (p: [number, number]): [number, number] => {
    const [x, y] = rotate(p);
    return [x + tx, y + ty];
  };
  const bbox = { x: round1(minX + tx), y: round1(minY + ty), width: round1(maxX - minX), height: round1(maxY - minY) };

  const seen = facing === 1 ? "left" : "right";
  const marks = patternMarks(species, scale);
  // The breast and wing locations are moved to the nearest point between marks, where the part's own colour shows.
  const unmarked = (at: [number, number], plain: Array<[number, number]>) =>
    plain.reduce(
      (best, p) => (Math.hypot(p[0] - at[0], p[1] - at[1]) < Math.hypot(best[0] - at[0], best[1] - at[1]) ? p : best),
      plain[0] ?? at,
    );
  const parts = PARTS.map((p, k) => {
    const name = CUB_PART_NAMES[k]!;
    const at: [number, number] =
      k === 1
        ? [(41 + bill.tip[0]) / 2, (-17 + bill.tip[1]) / 2]
        : name === "breast"
          ? unmarked(p.at, marks.breast.plain)
          : name.endsWith("wing")
            ? unmarked(p.at, marks.wing.plain)
            : p.at;
    const [x, y] = place(at);
    const visible = p.side === undefined || p.side === seen;
    return { name, x: visible ? round1(x) : 0, y: visible ? round1(y) : 0, visible };
  });

  const toPixels = (points: Array<[number, number]>) => points.map((p) => place(p).map(round1) as [number, number]);
  const probes: DrawnBird["probes"] = {
    crown: toPixels([
      [30, -27],
      [26, -26.5],
      [34, -27],
    ]),
    wing: toPixels(marks.wing.plain),
    breast: toPixels(marks.breast.plain),
    tail: toPixels([
      [-44, 2],
      [-40, 1.5],
      [-48, 2],
    ]),
    breastMarks: toPixels(marks.breast.marks),
    wingMarks: toPixels(marks.wing.marks),
  };
  const brightness = u(0.85, 1.15);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`,
    background(size, rng, place([4.5, 31]), scale),
    `<g transform="translate(${f(tx)} ${f(ty)}) rotate(${f(tilt)}) scale(${f(facing * scale)} ${f(scale)})" stroke="${OUTLINE}" stroke-width="${f(Math.min(1.2, 0.9 / scale))}" stroke-linejoin="round">`,
    birdBody(species, marks),
    "</g>",
    brightness >= 1
      ? `<rect width="${size}" height="${size}" fill="#ffffff" opacity="${f((brightness - 1) * 0.9)}"/>`
      : `<rect width="${size}" height="${size}" fill="#000000" opacity="${f((1 - brightness) * 0.9)}"/>`,
    "</svg>",
  ].join("");
  return {
    svg,
    bbox,
    parts,
    pose: {
      facing: facing === 1 ? "right" : "left",
      tilt: round1(tilt),
      length: round1(scale * localLength),
      brightness: Math.round(brightness * 1000) / 1000,
    },
    probes,
  };
}

/** The bird in its own units, facing right, with its breast and wing marks (clipped to the body and the wing). */
function birdBody(s: SynthSpecies, marks: { breast: Marks; wing: Marks }): string {
  const c = SYNTH_COLORS;
  const out: string[] = [];
  const wing = `<ellipse cx="${WING.cx}" cy="${WING.cy}" rx="${WING.rx}" ry="${WING.ry}" transform="rotate(${WING.angle} ${WING.cx} ${WING.cy})"`;
  out.push(
    `<defs><clipPath id="body"><ellipse cx="0" cy="0" rx="29" ry="18"/></clipPath><clipPath id="wing">${wing} stroke="none"/></clipPath></defs>`,
  );
  out.push(
    `<line x1="2" y1="16" x2="0" y2="31" stroke="#555" stroke-width="1.8"/><line x1="8" y1="16" x2="9" y2="31" stroke="#555" stroke-width="1.8"/>`,
  );
  out.push(`<polygon points="-24,-6 -52,-4 -52,8 -24,6" fill="${c[s.tail]}"/>`);
  out.push(`<ellipse cx="0" cy="0" rx="30" ry="19" fill="${c[s.breast]}"/>`);
  if (marks.breast.svg) out.push(`<g clip-path="url(#body)">${marks.breast.svg}</g>`);
  out.push(`${wing} fill="${c[s.wing]}"/>`);
  if (marks.wing.svg) out.push(`<g clip-path="url(#wing)">${marks.wing.svg}</g>`);
  out.push(`<circle cx="30" cy="-18" r="12.5" fill="${c[s.breast]}"/>`);
  // the crown: the cap of the head above the chord between 200 and 340 degrees
  const p = (deg: number) =>
    [30 + 12.5 * Math.cos((deg * Math.PI) / 180), -18 + 12.5 * Math.sin((deg * Math.PI) / 180)].map(f).join(" ");
  out.push(`<path d="M${p(195)} A12.5 12.5 0 0 1 ${p(345)} Z" fill="${c[s.crown]}"/>`);
  out.push(
    `<circle cx="34" cy="-19.5" r="3" fill="#f4f4ee" stroke-width="0.5"/><circle cx="34.6" cy="-19.5" r="1.8" fill="#101010" stroke="none"/>`,
  );
  out.push(`<path d="${BILLS[s.bill].path}" fill="#3a3a3a"/>`);
  return out.join("");
}

/** Sky-to-ground gradient in muted colours, a few soft leaves, and the branch under the feet. */
function background(size: number, rng: Rng, feet: [number, number], scale: number): string {
  const u = (lo: number, hi: number) => lo + rng.float() * (hi - lo);
  const top = hsl(u(0, 360), u(0.1, 0.3), u(0.7, 0.88));
  const bottom = hsl(u(0, 360), u(0.1, 0.3), u(0.5, 0.72));
  const out = [
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${top}"/><stop offset="1" stop-color="${bottom}"/></linearGradient></defs>`,
    `<rect width="${size}" height="${size}" fill="url(#bg)"/>`,
  ];
  const leaves = 3 + rng.int(5);
  for (let k = 0; k < leaves; k++) {
    out.push(
      `<ellipse cx="${f(u(0, size))}" cy="${f(u(0, size))}" rx="${f(u(0.04, 0.12) * size)}" ry="${f(u(0.02, 0.06) * size)}" transform="rotate(${f(u(0, 180))})" fill="${hsl(u(60, 150), u(0.1, 0.3), u(0.45, 0.7))}" opacity="${f(u(0.3, 0.6))}"/>`,
    );
  }
  const width = Math.max(2, 2.5 * scale);
  const slope = u(-0.15, 0.15);
  const y = feet[1] + width / 2;
  out.push(
    `<line x1="0" y1="${f(y - slope * feet[0])}" x2="${size}" y2="${f(y + slope * (size - feet[0]))}" stroke="${hsl(u(20, 40), u(0.1, 0.25), u(0.3, 0.45))}" stroke-width="${f(width)}" stroke-linecap="round"/>`,
  );
  return out.join("");
}

function hsl(h: number, s: number, l: number): string {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const ch = (n: number) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return `#${[ch(0), ch(8), ch(4)].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
