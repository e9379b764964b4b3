// The web demo in a real browser: Debian's chromium (headless, driven by playwright-core) loads the built page
// from a static server on 127.0.0.1, is given a CUB photo through the file input, and must show the top 5 and
// the overlay with the logits Node computes for the same model and photo (within 1e-4), on wasm; on WebGPU too
// where headless Chromium offers an adapter. Under CI=true a missing chromium fails (.ci/setup-chromium.sh
// installs it); elsewhere the test skips with a message.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { VisionTransformer, pixelsToImageBatch } from "@birdvlm/vit";
import { sharedPath } from "../../testing/shared.js";
import { buildPage } from "./build.js";
import { serveStatic, type StaticServer } from "./serve.js";
import type { PageApi, PageResult } from "./main.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// sharp as @birdvlm/vit has it (Node's decode of the photo), typed as this test uses it.
type Decode = (path: string) => {
  removeAlpha(): {
    raw(): {
      toBuffer(o: { resolveWithObject: true }): Promise<{ data: Buffer; info: { width: number; height: number } }>;
    };
  };
};
const sharp = createRequire(join(repo, "packages/vit/package.json"))("sharp") as Decode;
const chromiumPath = process.env.BIRDVLM_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  const message = `chromium not found at ${chromiumPath} (install it: bash .ci/setup-chromium.sh)`;
  if (process.env.CI === "true") throw new Error(`${message}; required under CI=true`);
  console.warn(`skipping the web page tests: ${message}`);
}
const cub = haveChromium ? sharedPath("data/cub-subset-train/CUB_200_2011") : undefined;

describe.skipIf(!haveChromium || !cub)("the web demo in headless Chromium", () => {
  let tmp: string;
  let photo: string;
  let server: StaticServer;
  let browser: Browser;
  let expected: number[];
  const served: { url: string; bytes: Buffer }[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "birdvlm-web-"));
    photo = join(cub!, "images", readFileSync(join(cub!, "images.txt"), "utf8").split("\n")[0]!.split(" ")[1]!);
    // The demo's ViT shape (packages/vlm/recipes/demo.json), seeded weights, a head over the subset's species,
    // saved as a timm folder with timm's `label_names`.
    const recipe = JSON.parse(readFileSync(join(repo, "packages/vlm/recipes/demo.json"), "utf8"));
    const e = recipe.encoder;
    const labels = readFileSync(join(cub!, "classes.txt"), "utf8")
      .trim()
      .split("\n")
      .map((l) =>
        l
          .split(" ")[1]!
          .replace(/^\d+\./, "")
          .replace(/_/g, " "),
      );
    const vit = new VisionTransformer(
      {
        imageSize: recipe.training.imageSize,
        patchSize: e.patchSize,
        hiddenSize: e.hiddenSize,
        depth: e.depth,
        numHeads: e.numHeads,
        mlpSize: e.mlpRatio * e.hiddenSize,
        pooling: e.pooling,
        numClasses: labels.length,
      },
      { seed: 16 },
    );
    const modelDir = join(tmp, "model");
    await vit.save(modelDir);
    const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8"));
    writeFileSync(join(modelDir, "config.json"), JSON.stringify({ ...config, label_names: labels }, null, 2));

    // Node's logits for the photo: sharp's decode, the page's preprocessing, this process's backend.
    const { data, info } = await sharp(photo).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const batch = pixelsToImageBatch({ data, width: info.width, height: info.height, channels: 3 }, vit.config);
    const logits = vit.classify(batch);
    expected = Array.from(await logits.data());
    tf.dispose([batch, logits]);
    vit.dispose();

    const dist = join(tmp, "dist");
    await buildPage(dist);
    server = await serveStatic({ "/": dist, "/model/": modelDir });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--enable-unsafe-webgpu"] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function open(query: string): Promise<{ page: Page; ready: Awaited<PageApi["ready"]> }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("response", async (r) => {
      if (/\.(js|wasm|json|safetensors)$/.test(r.url())) served.push({ url: r.url(), bytes: await r.body() });
    });
    await page.goto(`${server.url}?backend=${query}`);
    const ready = await page.evaluate(() => (globalThis as unknown as { birdvlm: PageApi }).birdvlm.ready);
    expect(errors).toEqual([]);
    return { page, ready };
  }

  async function classifyPhoto(page: Page): Promise<PageResult> {
    await page.setInputFiles("#file", photo);
    await page.waitForFunction(() => (globalThis as unknown as { birdvlm: PageApi }).birdvlm.last !== undefined);
    return page.evaluate(() => (globalThis as unknown as { birdvlm: PageApi }).birdvlm.last!);
  }

  function expectNodeLogits(result: PageResult, tolerance: number): void {
    expect(result.logits).toHaveLength(expected.length);
    const diff = Math.max(...result.logits.map((v, i) => Math.abs(v - expected[i]!)));
    expect(diff).toBeLessThan(tolerance);
    expect(result.top5[0]!.index).toBe(expected.indexOf(Math.max(...expected)));
  }

  it("classifies a dropped-in CUB photo on wasm as Node does, and shows the top 5 and the overlay", async () => {
    const { page, ready } = await open("wasm");
    expect(ready.backend.name).toBe("wasm");
    expect(ready.crossOriginIsolated).toBe(true); // serve.ts sends COOP/COEP: threads available
    const result = await classifyPhoto(page);
    expectNodeLogits(result, 1e-4);
    expect(await page.locator("#top5 li").count()).toBe(5);
    expect(await page.locator("#top5 li").first().textContent()).toContain(result.top5[0]!.label);
    // The overlay canvas shows the photo with a heat map: many distinct colours, not a blank canvas.
    const colours = await page.evaluate(() => {
      const c = document.getElementById("overlay") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return seen.size;
    });
    expect(colours).toBeGreaterThan(50);
    // The same photo again, for the time of a warm classification (and the same logits).
    const again = await page.evaluate(async (base64) => {
      const api = (globalThis as unknown as { birdvlm: PageApi }).birdvlm;
      const blob = await (await fetch(`data:image/jpeg;base64,${base64}`)).blob();
      return api.classify(blob);
    }, readFileSync(photo).toString("base64"));
    expect(again.logits).toEqual(result.logits);
    const js = served.filter((s) => /\.js$/.test(s.url));
    const wasm = served.filter((s) => /\.wasm$/.test(s.url));
    const gz = (list: typeof served) => list.reduce((n, s) => n + gzipSync(s.bytes).byteLength, 0) / 1024;
    console.log(
      `web demo on wasm (${ready.backend.threads} threads): loaded in ${ready.loadMs.toFixed(0)} ms; ` +
        `classified in ${result.classifyMs.toFixed(0)} ms (first), ${again.classifyMs.toFixed(0)} ms (warm: ` +
        `${Object.entries(again.stepsMs)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(", ")}); ` +
        `JavaScript ${gz(js).toFixed(0)} KB gzip in ${js.length} files, ` +
        `${wasm.map((w) => w.url.split("/").pop()).join(", ")} ${gz(wasm).toFixed(0)} KB gzip; ` +
        `all built JS ${readdirSync(join(tmp, "dist")).filter((f) => f.endsWith(".js")).length} files`,
    );
    await page.close();
  });

  it("runs on WebGPU as on wasm, where headless Chromium offers an adapter", async (ctx) => {
    const probe = await browser.newPage();
    await probe.goto(server.url);
    const adapter = await probe.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : false;
    });
    await probe.close();
    if (!adapter) {
      console.warn("skipping the WebGPU page test: headless Chromium offers no WebGPU adapter here");
      ctx.skip();
    }
    // Without the overlay: Chromium's software adapter (SwiftShader) compiles each WGSL program slowly.
    const { page, ready } = await open("webgpu&overlay=0");
    expect(ready.backend.name).toBe("webgpu");
    const result = await classifyPhoto(page);
    expectNodeLogits(result, 1e-3);
    console.log(
      `web demo on webgpu (${ready.backend.details?.description || ready.backend.details?.vendor}): loaded in ` +
        `${ready.loadMs.toFixed(0)} ms, classified in ${result.classifyMs.toFixed(0)} ms (first)`,
    );
    await page.close();
  });
});
