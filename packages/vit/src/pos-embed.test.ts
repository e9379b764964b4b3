import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { bicubicWeights, resamplePosEmbed } from "./pos-embed.js";

// PyTorch 1.13 `F.interpolate(x, size, mode='bicubic', align_corners=False, antialias=...)` of the 3x3 grid
// x = [1, 4, 9; 16, 25, 36; 49, 64, 81] (squares of 1..9), printed to 6 decimals.
const torchReference: Array<[boolean, [number, number], number[]]> = [
  [
    false,
    [5, 5],
    [
      -0.672703, 0.181986, 1.984002, 4.866019, 6.832706, 3.973996, 5.847151, 9.340014, 13.912881, 16.898033, 15.136005,
      18.700008, 25.000006, 32.380009, 37.056007, 36.018021, 41.272869, 50.380009, 60.567146, 66.93399, 50.672714,
      56.94603, 67.744019, 79.622009, 87.007317,
    ],
  ],
  [false, [2, 2], [3.962006, 12.287994, 44.631744, 68.649506]],
  [
    false,
    [4, 6],
    [
      -0.347645, 0.344814, 1.428638, 3.798901, 6.1171, 7.543934, 6.317577, 8.08157, 10.885487, 15.652599, 19.690891,
      22.189259, 28.292774, 31.731905, 37.224869, 45.739006, 52.466331, 56.639847, 49.741196, 54.251869, 61.464912,
      72.3759, 80.823334, 86.068367,
    ],
  ],
  [
    true,
    [5, 5],
    [
      -0.324314, 0.557731, 2.415095, 5.481415, 7.305448, 4.418614, 6.173645, 9.619402, 14.274114, 16.971136, 15.320755,
      18.664179, 25.0, 32.544777, 36.830189, 37.103493, 42.035313, 51.261196, 61.696037, 67.569839, 50.32431, 56.12912,
      66.94339, 78.966621, 85.713409,
    ],
  ],
  [true, [2, 2], [6.349496, 14.437014, 42.045364, 61.566193]],
  [
    true,
    [4, 6],
    [
      -0.020632, 0.623652, 1.986271, 4.125043, 6.758961, 8.003073, 7.526688, 9.106573, 12.449269, 16.707338, 21.321331,
      23.501045, 28.340641, 31.283298, 37.510117, 44.855095, 52.35321, 55.895695, 49.372692, 53.250954, 61.457851,
      70.922127, 80.400314, 84.878403,
    ],
  ],
];

describe("bicubic position-embedding resampling", () => {
  it("matches a hand-computed plain bicubic row (a = -0.75, clamped borders)", () => {
    // 2 -> 3 samples: scale 2/3; output 0 samples at -1/6, so t = 5/6 between taps -2..1 clamped to 0,0,0,1.
    // Keys' weights (a = -0.75): w(11/6) = -0.75(11/6)^3 + 3.75(11/6)^2 - 6(11/6) + 3 = -0.0173611,
    // w(5/6) = 1.25(5/6)^3 - 2.25(5/6)^2 + 1 = 0.1608796, w(1/6) = 1.25/216 - 2.25/36 + 1 = 0.9432870,
    // w(7/6) = -0.0868056; the first three land on input 0: 1.0868056, the last on input 1.
    const w = bicubicWeights(2, 3, false);
    expect(w[0]).toBeCloseTo(1.0868056, 6);
    expect(w[1]).toBeCloseTo(-0.0868056, 6);
    // The middle output sits exactly between the inputs: weights 1/2, 1/2.
    expect(w[2]).toBeCloseTo(0.5, 6);
    expect(w[3]).toBeCloseTo(0.5, 6);
    // Every row of an interpolation matrix sums to one.
    for (const [inS, outS, aa] of [
      [3, 5, false],
      [14, 7, true],
      [7, 14, true],
      [14, 9, false],
    ] as const) {
      const m = bicubicWeights(inS, outS, aa);
      for (let i = 0; i < outS; i++)
        expect(m.slice(i * inS, (i + 1) * inS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it.each(torchReference)("matches PyTorch F.interpolate (antialias %s) to %j", (antialias, size, expected) => {
    tf.tidy(() => {
      const grid = tf.tensor1d([1, 4, 9, 16, 25, 36, 49, 64, 81]);
      // [1, prefix + 9, D=2]: a class token, then the grid in the first channel and its negative in the second.
      const pos = tf.concat([tf.tensor3d([[[7, 7]]]), tf.reshape(tf.stack([grid, tf.neg(grid)], 1), [1, 9, 2])], 1);
      const out = resamplePosEmbed(pos, [3, 3], size, { antialias });
      expect(out.shape).toEqual([1, 1 + size[0] * size[1], 2]);
      const values = out.arraySync()[0]!;
      expect(values[0]).toEqual([7, 7]);
      const got = values.slice(1);
      got.forEach(([a, b], i) => {
        expect(a).toBeCloseTo(expected[i]!, 4);
        expect(b).toBeCloseTo(-expected[i]!, 4);
      });
    });
  });

  it("leaves an unchanged grid unchanged and names a bad shape", () => {
    tf.tidy(() => {
      const pos = tf.randomNormal([1, 10, 4]);
      const same = resamplePosEmbed(pos, [3, 3], [3, 3]);
      expect(tf.max(tf.abs(tf.sub(same, pos))).dataSync()[0]).toBe(0);
      expect(() => resamplePosEmbed(pos, [4, 4], [5, 5])).toThrow(/do not hold 1 prefix tokens and a 4x4 grid/);
    });
  });
});
