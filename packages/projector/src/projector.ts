import {
  Module,
  openModelFolder,
  tf,
  writeModelFolder,
  type Connector,
  type ForwardOptions,
  type TokenEmbeddings,
  type VisionFeatures,
} from "@birdvlm/core";
import type { ProjectorConfig } from "./config.js";
import { PatchPooler } from "./patch-pooler.js";

/**
 * What both projectors share: a `PatchPooler` in front, the config, and saving as `config.json` +
 * `model.safetensors`. Subclasses map pooled tokens `[B, K, inputDim]` → `[B, K, outputDim]`.
 */
export abstract class Projector extends Module implements Connector {
  readonly pooler: PatchPooler;

  protected constructor(readonly config: ProjectorConfig) {
    super();
    this.pooler = new PatchPooler(config.pooling);
  }

  get inputDim(): number {
    return this.config.inputDim;
  }

  get outputDim(): number {
    return this.config.outputDim;
  }

  /** Number of image tokens K for a patch grid (1 for `cls`, rows·cols for `all`, the pooled grid for `avg`). */
  tokenCount(grid: [number, number]): number {
    return this.pooler.tokenCount(grid);
  }

  /** Pooled tokens `[B, K, inputDim]` → `[B, K, outputDim]`. */
  protected abstract project(tokens: tf.Tensor3D): tf.Tensor3D;

  /** features → `[B, K, outputDim]`. */
  forward(features: VisionFeatures, _options: ForwardOptions = {}): TokenEmbeddings {
    const width = (features.cls ?? features.patches).shape.at(-1);
    if (width !== this.config.inputDim) {
      throw new Error(
        `${this.constructor.name}: vision features have width ${width}, the projector expects inputDim ${this.config.inputDim}`,
      );
    }
    return tf.tidy(() => this.project(this.pooler.forward(features)));
  }

  /**
   * Writes `config.json` and `model.safetensors` (PyTorch names and layouts) as the folder `dir`, written beside
   * it and renamed into place (core's `writeFolderAtomic`): an interrupted save leaves an older `dir` intact.
   */
  async save(dir: string): Promise<void> {
    const state = this.stateDict();
    try {
      const config = { ...this.config, model_type: "birdvlm_projector" };
      await writeModelFolder(dir, {
        text: { "config.json": `${JSON.stringify(config, null, 2)}\n` },
        safetensors: { "model.safetensors": { tensors: state, metadata: { format: "pt" } } },
      });
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
  }

  /**
   * Loads weights saved by `save` (or any checkpoint with the same names) from `dir`: a directory in Node, or
   * a URL (read with `fetch`, in Node or a page).
   */
  async loadWeights(dir: string): Promise<void> {
    const reader = await openModelFolder(dir).openWeights();
    const tensors = Object.create(null) as Record<string, tf.Tensor>; // names are data (`__proto__` too)
    try {
      for (const name of reader.names()) tensors[name] = await reader.read(name);
      this.loadStateDict(tensors, { source: reader.path });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
      await reader.close();
    }
  }

  override dispose(): void {
    super.dispose();
    this.pooler.dispose();
  }
}

/** Reads a projector's `config.json` from a directory (Node) or a URL, naming the file in errors. */
export async function readProjectorConfig(dir: string): Promise<ProjectorConfig> {
  const folder = openModelFolder(dir);
  const path = folder.where("config.json");
  let raw: string;
  try {
    raw = await folder.readText("config.json");
  } catch {
    throw new Error(`projector: ${path} not found (a projector folder holds config.json and model.safetensors)`);
  }
  try {
    return JSON.parse(raw) as ProjectorConfig;
  } catch (e) {
    throw new Error(`projector: ${path} is not valid JSON (${(e as Error).message})`);
  }
}
