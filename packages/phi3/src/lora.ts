import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  Linear,
  Module,
  deriveSeed,
  openSafetensors,
  tf,
  writeFolderAtomic,
  writeSafetensors,
  type LinearDelta,
} from "@birdvlm/core";
import type { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";

/** Linear layers of a Phi-3 layer that can carry an adapter. */
export type LoRATarget = "qkv_proj" | "o_proj" | "gate_up_proj" | "down_proj";

const TARGETS: readonly LoRATarget[] = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"];

/** Options of `applyLoRA`. */
export interface LoRAOptions {
  /** Rank `r` of each adapter. */
  rank: number;
  /** The update is scaled by `alpha / rank`. Default: `rank` (scale 1). */
  alpha?: number;
  /** Dropout on the adapter's input, in training only. Default 0. */
  dropout?: number;
  /** Which linear layers get adapters. Default `["qkv_proj", "o_proj"]`. */
  targets?: LoRATarget[];
  /** Seed of the `lora_A` initialization. Default 0. */
  seed?: number;
}

// Reference: PEFT `peft/tuners/lora/layer.py` `Linear` (`LoraLayer`).
/**
 * One adapter `x → dropout(x) A B · alpha/r` beside a frozen `[in, out]` weight. `A` (`lora_A.weight`,
 * PEFT layout `[r, in]`, kept `[in, r]`) starts uniform in ±1/sqrt(in) as PEFT's Kaiming init, `B`
 * (`lora_B.weight`, `[out, r]`, kept `[r, out]`) at zero, so a fresh adapter changes nothing.
 */
export class LoRALinear extends Module implements LinearDelta {
  readonly a: tf.Variable;
  readonly b: tf.Variable;
  private dropoutCalls = 0;

  constructor(
    inFeatures: number,
    outFeatures: number,
    readonly rank: number,
    readonly scale: number,
    readonly dropout: number,
    private readonly seed: number,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const a = this.registerModule(
      "lora_A",
      new ParameterOnly(tf.randomUniform([inFeatures, rank], -bound, bound, "float32", seed)),
    );
    const b = this.registerModule("lora_B", new ParameterOnly(tf.zeros([rank, outFeatures])));
    this.a = a.weight;
    this.b = b.weight;
  }

  /** `x [N, in]` → the update `[N, out]`. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    return tf.tidy(() => {
      const input =
        training && this.dropout > 0
          ? tf.dropout(x, this.dropout, undefined, deriveSeed(this.seed, "dropout", ++this.dropoutCalls))
          : x;
      return tf.mul(tf.matMul(tf.matMul(input, this.a), this.b), this.scale);
    });
  }

  /** `scale · A B`, `[in, out]`: what merging adds to the base weight. */
  delta(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.a, this.b), this.scale) as tf.Tensor2D);
  }
}

/** A module holding one transposed `weight` (PEFT's `lora_A` / `lora_B` are `nn.Linear`s). */
class ParameterOnly extends Module {
  readonly weight: tf.Variable;
  constructor(value: tf.Tensor) {
    super();
    this.weight = this.registerParameter("weight", value, { transposed: true });
  }
}

// Reference: PEFT `peft/tuners/lora/model.py` `LoraModel`.
/** Every adapter of a model, named by the layer it adapts (`model.layers.0.self_attn.qkv_proj`). */
export class LoRAAdapters extends Module {
  private readonly layers = new Map<string, { adapter: LoRALinear; linear: Linear }>();

  constructor(readonly options: Required<LoRAOptions>) {
    super();
  }

  /** @internal */
  add(path: string, linear: Linear, adapter: LoRALinear): void {
    this.registerModule(path, adapter);
    this.layers.set(path, { adapter, linear });
    linear.delta = adapter;
  }

  /** The adapted layers, by name. */
  entries(): Array<[string, { adapter: LoRALinear; linear: Linear }]> {
    return [...this.layers];
  }

  /**
   * Writes the adapters alone in PEFT's format: `adapter_model.safetensors` (names
   * `base_model.model.<layer>.lora_A.weight`, PyTorch layout) and `adapter_config.json`, as the folder `dir`
   * (written beside it and renamed into place).
   */
  async save(dir: string): Promise<void> {
    const o = this.options;
    const config = {
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: o.rank,
      lora_alpha: o.alpha,
      lora_dropout: o.dropout,
      target_modules: o.targets,
      bias: "none",
      fan_in_fan_out: false,
      birdvlm_seed: o.seed,
    };
    const state = this.stateDict();
    try {
      const named = Object.fromEntries(Object.entries(state).map(([n, t]) => [`base_model.model.${n}`, t]));
      await writeFolderAtomic(dir, async (tmp) => {
        await writeSafetensors(join(tmp, "adapter_model.safetensors"), named, { format: "pt" });
        await writeFile(join(tmp, "adapter_config.json"), `${JSON.stringify(config, null, 2)}\n`);
      });
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
  }
}

const attached = new WeakMap<Phi3ForCausalLM, LoRAAdapters>();

/** The adapters `applyLoRA` put on `lm`, if any. */
export function loraAdaptersOf(lm: Phi3ForCausalLM): LoRAAdapters | undefined {
  return attached.get(lm);
}

/**
 * Freezes `lm` and adds a LoRA adapter beside each target linear layer of every decoder layer. From then on
 * `lm.trainableParameters()` lists only the adapters (`model.layers.N.self_attn.qkv_proj.lora_A.weight`,
 * ...), `forward` adds their updates, and `lm.save` still writes the base weights only.
 */
export function applyLoRA(lm: Phi3ForCausalLM, options: LoRAOptions): LoRAAdapters {
  if (attached.has(lm))
    throw new Error("applyLoRA: the model already has LoRA adapters (mergeLoRA or removeLoRA first)");
  const o: Required<LoRAOptions> = {
    rank: options.rank,
    alpha: options.alpha ?? options.rank,
    dropout: options.dropout ?? 0,
    targets: options.targets ?? ["qkv_proj", "o_proj"],
    seed: options.seed ?? 0,
  };
  if (!Number.isInteger(o.rank) || o.rank <= 0)
    throw new Error(`applyLoRA: rank must be a positive integer, got ${o.rank}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new Error(`applyLoRA: dropout must be in [0, 1), got ${o.dropout}`);
  const bad = o.targets.filter((t) => !TARGETS.includes(t));
  if (bad.length || o.targets.length === 0) {
    throw new Error(`applyLoRA: unknown targets [${bad}] (choose among ${TARGETS.join(", ")})`);
  }
  lm.freeze();
  const adapters = new LoRAAdapters(o);
  let n = 0;
  lm.model.layers.items.forEach((layer, i) => {
    const linears: Record<LoRATarget, [string, Linear]> = {
      qkv_proj: ["self_attn.qkv_proj", layer.selfAttn.qkvProj],
      o_proj: ["self_attn.o_proj", layer.selfAttn.oProj],
      gate_up_proj: ["mlp.gate_up_proj", layer.mlp.gateUpProj],
      down_proj: ["mlp.down_proj", layer.mlp.downProj],
    };
    for (const t of o.targets) {
      const [path, linear] = linears[t];
      const adapter = new LoRALinear(
        linear.inFeatures,
        linear.outFeatures,
        o.rank,
        o.alpha / o.rank,
        o.dropout,
        deriveSeed(o.seed, "lora", n++),
      );
      adapters.add(`model.layers.${i}.${path}`, linear, adapter);
    }
  });
  attached.set(lm, adapters);
  lm.attachExtra("", adapters);
  return adapters;
}

/** Takes the adapters off `lm` without merging them, and frees them. */
export function removeLoRA(lm: Phi3ForCausalLM): void {
  const adapters = attached.get(lm);
  if (!adapters) return;
  for (const [, { linear }] of adapters.entries()) linear.delta = undefined;
  lm.attachExtra("", undefined);
  attached.delete(lm);
  adapters.dispose();
}

/**
 * Folds every adapter into its base weight (`W += alpha/r · A B`), then removes and frees the adapters:
 * the model computes the same function without them, and `lm.save` writes the merged weights.
 */
export function mergeLoRA(lm: Phi3ForCausalLM): void {
  const adapters = attached.get(lm);
  if (!adapters) throw new Error("mergeLoRA: the model has no LoRA adapters");
  if (lm.weightDtype === "bfloat16") {
    throw new Error(
      "mergeLoRA: the model holds bfloat16 weights (inference only); merge into a float32 model (load it without weightDtype)",
    );
  }
  for (const [, { adapter, linear }] of adapters.entries()) {
    tf.tidy(() => linear.weight.assign(tf.add(linear.weight, adapter.delta())));
  }
  removeLoRA(lm);
}

/** Puts adapters saved by `LoRAAdapters.save` (or PEFT) on `lm` and loads their weights. */
export async function loadLoRA(lm: Phi3ForCausalLM, dir: string): Promise<LoRAAdapters> {
  const configPath = join(dir, "adapter_config.json");
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${configPath}: cannot read the adapter config (${(e as Error).message})`);
  }
  if (config.peft_type !== undefined && config.peft_type !== "LORA") {
    throw new Error(`${configPath}: peft_type '${String(config.peft_type)}' is not LORA`);
  }
  const adapters = applyLoRA(lm, {
    rank: config.r as number,
    alpha: config.lora_alpha as number | undefined,
    dropout: (config.lora_dropout as number | undefined) ?? 0,
    targets: config.target_modules as LoRATarget[],
  });
  const reader = await openSafetensors(join(dir, "adapter_model.safetensors"));
  try {
    const tensors = Object.create(null) as Record<string, tf.Tensor>; // names are data
    try {
      for (const n of reader.names()) {
        const name = n.replace(/^base_model\.model\./, "").replace(/\.lora_([AB])\.default\./, ".lora_$1.");
        if (name in tensors) throw new Error(`${reader.path}: '${n}' and another tensor both name '${name}'`);
        tensors[name] = await reader.read(n);
      }
      adapters.loadStateDict(tensors, { source: reader.path });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  } catch (e) {
    removeLoRA(lm);
    throw e;
  } finally {
    await reader.close();
  }
  return adapters;
}
