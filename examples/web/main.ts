/// <reference lib="dom" />
// The web demo's page script (bundled by build.ts): loads a ViT folder (timm layout) from `?model=` (default
// `model/`, as serve.ts serves it), classifies the photo the user drops or picks, and shows the top-5 classes
// and where the model looked (attention rollout over the photo). `?backend=` picks the backend (default auto);
// `?overlay=0` leaves the overlay out (fewer kernels to compile: the WebGPU test on a software adapter).
// Tests drive it through `window.birdvlm`.
import { initBackend, tf, type BackendInfo, type BackendName } from "@birdvlm/core";
import { VisionTransformer, drawAttentionOverlay, pixelsToImageBatch, type PhotoPixels } from "@birdvlm/vit";

/** One classification, as the page shows it (and tests read it). */
export interface PageResult {
  /** The logits of the classifier head, one per class. */
  logits: number[];
  top5: { index: number; label: string; probability: number }[];
  /** Milliseconds from the decoded photo to the logits and the overlay, on the page's backend. */
  classifyMs: number;
  /** Where that time went: preprocessing, the logits, the attention rollout, drawing the overlay. */
  stepsMs: { preprocess: number; logits: number; rollout: number; overlay: number };
}

/** What the page exposes on `window.birdvlm`. */
export interface PageApi {
  /** Resolves once the backend and the model are loaded; `loadMs` since navigation start. */
  ready: Promise<{ backend: BackendInfo; loadMs: number; crossOriginIsolated: boolean }>;
  /** Decodes and classifies a picture, and shows the result. */
  classify(picture: Blob): Promise<PageResult>;
  /** The last classification shown. */
  last?: PageResult;
}

const params = new URLSearchParams(location.search);
const withOverlay = params.get("overlay") !== "0";
const modelUrl = new URL(params.get("model") ?? "model/", location.href).href;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let model: VisionTransformer;
let labels: string[] = [];

async function load(): Promise<{ backend: BackendInfo; loadMs: number; crossOriginIsolated: boolean }> {
  // The .wasm files sit beside this script (build.ts copies them there).
  const backend = await initBackend((params.get("backend") ?? "auto") as BackendName, {
    wasmPaths: new URL("./", import.meta.url).href,
  });
  model = await VisionTransformer.load(modelUrl);
  const config = (await (await fetch(new URL("config.json", modelUrl))).json()) as {
    label_names?: string[];
    pretrained_cfg?: { label_names?: string[] };
  };
  labels = config.label_names ?? config.pretrained_cfg?.label_names ?? [];
  const loadMs = performance.now();
  $("status").textContent =
    `Encoder ready on ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ""} in ` +
    `${(loadMs / 1000).toFixed(1)} s: ${model.config.numClasses} classes, ${model.imageSize}px input.`;
  return { backend, loadMs, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

async function decode(picture: Blob): Promise<{ pixels: PhotoPixels; bitmap: ImageBitmap }> {
  const bitmap = await createImageBitmap(picture);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d")!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { pixels: { data, width: bitmap.width, height: bitmap.height, channels: 4 }, bitmap };
}

async function classify(picture: Blob): Promise<PageResult> {
  await api.ready;
  const { pixels, bitmap } = await decode(picture);
  const start = performance.now();
  const batch = pixelsToImageBatch(pixels, model.config);
  await batch.data();
  const preprocessed = performance.now();
  const logitsTensor = model.classify(batch);
  const logits = await logitsTensor.data();
  const classified = performance.now();
  // Where it looked: attention rollout from the class token (models without one get no overlay).
  const rollout = withOverlay && model.config.classToken ? model.attentionRollout(batch) : undefined;
  const heat = await rollout?.array();
  const rolledOut = performance.now();
  tf.dispose([batch, logitsTensor, ...(rollout ? [rollout] : [])]);

  // The photo's centred square (what the model saw), with the heat map over it.
  const canvas = $<HTMLCanvasElement>("overlay");
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  const side = Math.min(bitmap.width, bitmap.height);
  const sx = Math.floor((bitmap.width - side) / 2);
  const sy = Math.floor((bitmap.height - side) / 2);
  context.drawImage(bitmap, sx, sy, side, side, 0, 0, canvas.width, canvas.height);
  if (heat) drawAttentionOverlay(context, heat[0]!, 0.45);
  const end = performance.now();
  const classifyMs = end - start;
  const stepsMs = {
    preprocess: preprocessed - start,
    logits: classified - preprocessed,
    rollout: rolledOut - classified,
    overlay: end - rolledOut,
  };

  const values = Array.from(logits);
  const max = Math.max(...values);
  const exp = values.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const top5 = values
    .map((_, index) => ({ index, label: labels[index] ?? `class ${index}`, probability: exp[index]! / sum }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 5);
  $("top5").replaceChildren(
    ...top5.map((t) => {
      const li = document.createElement("li");
      li.textContent = `${t.label} ${(t.probability * 100).toFixed(1)}%`;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(t.probability * 120)}px`;
      li.append(bar);
      return li;
    }),
  );
  $("timing").textContent = `classified in ${classifyMs.toFixed(0)} ms`;
  api.last = { logits: values, top5, classifyMs, stepsMs };
  return api.last;
}

const api: PageApi = { ready: load(), classify };
(globalThis as unknown as { birdvlm: PageApi }).birdvlm = api;
api.ready.catch((e: Error) => ($("status").textContent = `Could not load the encoder: ${e.message}`));

const drop = $("drop");
const input = $<HTMLInputElement>("file");
input.addEventListener("change", () => input.files?.[0] && void classify(input.files[0]));
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) void classify(file);
});
