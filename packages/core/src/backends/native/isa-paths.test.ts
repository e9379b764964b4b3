// The addon picks its kernels at run time (AVX-512, AVX2 + FMA, or plain C++). The other native tests run the
// best path this machine has; this one loads the addon in child processes with the faster paths switched off
// (`BIRDVLM_NO_AVX512`, `BIRDVLM_NO_AVX2`), so the AVX2 and the generic kernels are checked here too: SGEMM in
// every transpose layout with a bias + GELU epilogue, the bf16 product for decoding (M ≤ 16) and prefill rows,
// attention, and the depthwise convolution and its input gradient, each against a float64 reference computed in
// JavaScript.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { findAddon } from "./addon.js";

const addon = findAddon();
const skip = addon === undefined && process.env.CI !== "true";

/** Runs in the child: loads the addon, checks the ISA it chose, prints the largest relative error per check. */
const CHILD = String.raw`
const { createRequire } = await import("node:module");
const path = process.argv[1];
const a = createRequire(path)(path);
let s = 7;
const rnd = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
const errs = {};
const note = (name, got, want, scale) => {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / scale[i]);
  errs[name] = Math.max(errs[name] ?? 0, e);
};
// A is [m, k] (stored [k, m] when transposed), B is [k, n] (stored [n, k] when transposed).
const A = (x, m, k, t, i, p) => (t ? x[p * m + i] : x[i * k + p]);
const Bm = (w, k, n, t, p, j) => (t ? w[j * k + p] : w[p * n + j]);
for (const [m, n, k] of [[1, 33, 70], [7, 45, 19], [197, 64, 192], [40, 131, 257]]) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
    const x = rnd(m * k), w = rnd(k * n), bias = rnd(n), out = new Float32Array(m * n);
    a.matmul(x, w, out, 1, m, n, k, ta, tb, new Int32Array([0]), new Int32Array([0]), 1, 1, bias, 13, 0); a.synchronize();
    const want = new Float64Array(m * n), scale = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let acc = bias[j], abs = Math.abs(bias[j]);
      for (let p = 0; p < k; p++) {
        const v = A(x, m, k, ta, i, p) * Bm(w, k, n, tb, p, j);
        acc += v; abs += Math.abs(v);
      }
      const erf = (z) => { const t = 1 / (1 + 0.3275911 * Math.abs(z)); const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z); return z < 0 ? -y : y; };
      want[i * n + j] = 0.5 * acc * (1 + erf(acc / Math.SQRT2));
      scale[i * n + j] = abs + 1;
    }
    note("sgemm+bias+gelu", out, want, scale);
  }
}
for (const [m, n, k] of [[1, 37, 65], [5, 64, 33], [16, 20, 48], [17, 40, 31]]) {
  const x = rnd(m * k), wf = rnd(k * n);
  const bits = new Uint16Array(k * n + (k * n) % 2);
  const wide = new Float32Array(k * n);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < k * n; i++) { f[0] = wf[i]; bits[i] = u[0] >>> 16; u[0] = bits[i] << 16; wide[i] = f[0]; }
  const out = new Float32Array(m * n);
  a.bf16MatMul(x, new Int32Array(bits.buffer), out, m, n, k); a.synchronize();
  const want = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let acc = 0, abs = 0;
    for (let p = 0; p < k; p++) { acc += x[i * k + p] * wide[p * n + j]; abs += Math.abs(x[i * k + p] * wide[p * n + j]); }
    want[i * n + j] = acc; scale[i * n + j] = abs + 1e-6;
  }
  note("bf16MatMul", out, want, scale);
}
{
  const [B, H, T, D] = [2, 3, 13, 16];
  const q = rnd(B * H * T * D), k = rnd(B * H * T * D), v = rnd(B * H * T * D), out = new Float32Array(B * H * T * D);
  a.attention(q, k, v, null, out, [B, H, H, T, T, T, D], 0.25, true, 0, 0, [0, 0, 0, 0]); a.synchronize();
  const want = new Float64Array(out.length), scale = new Float64Array(out.length).fill(1);
  for (let bh = 0; bh < B * H; bh++) for (let i = 0; i < T; i++) {
    const o = bh * T * D, sc = [];
    for (let j = 0; j <= i; j++) { let d = 0; for (let c = 0; c < D; c++) d += q[o + i * D + c] * k[o + j * D + c]; sc.push(d * 0.25); }
    const mx = Math.max(...sc), e = sc.map((z) => Math.exp(z - mx)), sum = e.reduce((p, z) => p + z, 0);
    for (let c = 0; c < D; c++) { let acc = 0; for (let j = 0; j <= i; j++) acc += (e[j] / sum) * v[o + j * D + c]; want[o + i * D + c] = acc; }
  }
  note("attention", out, want, scale);
}
// Depthwise convolution and its input gradient: 'same' at stride 1 with 64 channels (whole blocks of 32) and stride
// 2 with 45 (a remainder), each against the direct sums.
for (const [B, H, W, C, K, st] of [[2, 6, 5, 64, 3, 1], [1, 7, 6, 45, 3, 2]]) {
  const pad = Math.floor((K - 1) / 2), OH = Math.floor((H + 2 * pad - K) / st) + 1, OW = Math.floor((W + 2 * pad - K) / st) + 1;
  const dims = [B, H, W, C, K, K, OH, OW, st, st, pad, pad];
  const x = rnd(B * H * W * C), w = rnd(K * K * C), dy = rnd(B * OH * OW * C);
  const y = new Float32Array(B * OH * OW * C), dx = new Float32Array(B * H * W * C);
  a.depthwiseConv(x, w, y, dims); a.depthwiseConvGradInput(dy, w, dx, dims); a.synchronize();
  const wantY = new Float64Array(y.length), scaleY = new Float64Array(y.length).fill(1);
  const wantDx = new Float64Array(dx.length), scaleDx = new Float64Array(dx.length).fill(1);
  for (let b = 0; b < B; b++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++)
    for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * st + ky - pad, ix = ox * st + kx - pad;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      for (let c = 0; c < C; c++) {
        const o = ((b * OH + oy) * OW + ox) * C + c, i = ((b * H + iy) * W + ix) * C + c, t = (ky * K + kx) * C + c;
        wantY[o] += x[i] * w[t]; scaleY[o] += Math.abs(x[i] * w[t]);
        wantDx[i] += dy[o] * w[t]; scaleDx[i] += Math.abs(dy[o] * w[t]);
      }
    }
  note("depthwise", y, wantY, scaleY);
  note("depthwiseGradInput", dx, wantDx, scaleDx);
}
console.log(JSON.stringify({ isa: a.info().isa, async: a.info().async, errs }));
`;

function runChild(env: Record<string, string>): { isa: string; async: boolean; errs: Record<string, number> } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, addon!], {
    env: { ...process.env, BIRDVLM_THREADS: "2", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child with ${JSON.stringify(env)} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe.skipIf(skip)("native addon: every ISA path against a float64 reference", () => {
  const cases: Array<[string, "avx2" | "generic", Record<string, string>]> = [
    ["avx2", "avx2", { BIRDVLM_NO_AVX512: "1" }],
    ["generic", "generic", { BIRDVLM_NO_AVX512: "1", BIRDVLM_NO_AVX2: "1" }],
    // Each entry point waiting for its kernel (the launch queue off): the same products, in the old order of events.
    ["avx2, BIRDVLM_ASYNC=0", "avx2", { BIRDVLM_NO_AVX512: "1", BIRDVLM_ASYNC: "0" }],
  ];
  for (const [name, isa, env] of cases) {
    it(`${name}: SGEMM (3 layouts, bias + GELU), bf16 product (M 1..17), causal attention, depthwise convolution`, () => {
      const r = runChild(env);
      expect(r.async).toBe(env.BIRDVLM_ASYNC !== "0");
      // A machine without AVX2 cannot run the AVX2 path; it then falls to the generic one, which is checked anyway.
      if (isa === "generic") expect(r.isa).toBe("generic");
      else expect(["avx2", "generic"]).toContain(r.isa);
      expect(Object.keys(r.errs).sort()).toEqual([
        "attention",
        "bf16MatMul",
        "depthwise",
        "depthwiseGradInput",
        "sgemm+bias+gelu",
      ]);
      expect(r.errs["sgemm+bias+gelu"]).toBeLessThan(2e-6);
      expect(r.errs.bf16MatMul).toBeLessThan(2e-6);
      expect(r.errs.attention).toBeLessThan(2e-6);
      expect(r.errs.depthwise).toBeLessThan(2e-6);
      expect(r.errs.depthwiseGradInput).toBeLessThan(2e-6);
    }, 90_000);
  }
});
