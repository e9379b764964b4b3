// Phi-3 decoding and loading.
// - `phi3-decode` / `phi3-decode-nocache`: a Phi-3-shaped model (hidden 768, 12 layers, 12 heads, intermediate
//   2048, vocab 32064, random weights: 134M parameters, 85M outside the embeddings and head), a 113-token
//   prompt (49 image slots + 64 text tokens), 64 greedy new tokens, with and without the KV cache. Rate: new
//   tokens per second, prefill included.
// - `phi3-decode-bf16`: `phi3-decode` with the weights rounded to bfloat16 (`toBf16Weights`): half the
//   bytes a decoding step reads (embeddings bf16 too: the head is untied).
// - `phi3-load`: `Phi3ForCausalLM.load` of a synthetic 1.07 GB BF16 checkpoint in 3 shards (hidden 2048,
//   8 layers, vocab 32064), written once by setup to the temp folder, lazily one tensor at a time. Rate: GB of
//   BF16 read per second; the runner's peak RSS is the load's peak (the float32 model alone is 2.15 GB).
// - `phi3-load-bf16`: the same with `weightDtype: "bfloat16"` (linear weights and embeddings kept as stored).
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCheckpoint, type RawTensor } from "@birdvlm/core";
import { Phi3Config, Phi3ForCausalLM, type Phi3Config as Config } from "@birdvlm/phi3";
import { defineCase, type BenchCase } from "../harness.js";

const DECODE_CONFIG: Partial<Config> = {
  vocabSize: 32064,
  hiddenSize: 768,
  intermediateSize: 2048,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  numKeyValueHeads: 12,
  maxPositionEmbeddings: 4096,
  slidingWindow: 2047,
};

function decode(name: string, useCache: boolean, bf16 = false): BenchCase {
  return defineCase({
    name,
    unit: "tok/s",
    warmup: 1,
    runs: 5,
    async setup() {
      const lm = new Phi3ForCausalLM(DECODE_CONFIG, { seed: 0 });
      if (bf16) lm.toBf16Weights();
      const prompt = Array.from({ length: 113 }, (_, i) => 32 + ((i * 7919) % 32000));
      return {
        async step() {
          const [out] = await lm.generate([prompt], { maxNewTokens: 64, useCache });
          if (out!.length !== 64) throw new Error(`${name}: generated ${out!.length} tokens, expected 64`);
          return 64;
        },
        dispose() {
          lm.dispose();
        },
      };
    },
  });
}

/** Config of the synthetic checkpoint: 536M parameters, 1.07 GB as BF16. */
const LOAD_CONFIG = Phi3Config.create({
  vocabSize: 32064,
  hiddenSize: 2048,
  intermediateSize: 5632,
  numHiddenLayers: 8,
  numAttentionHeads: 16,
  numKeyValueHeads: 16,
});

/** Deterministic BF16 bytes of small values (a cheap LCG, one tensor at a time). */
function bf16Tensor(shape: number[], seed: number, constant?: number): RawTensor {
  return {
    dtype: "BF16",
    shape,
    data: () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const out = new Uint16Array(n);
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      if (constant !== undefined) {
        f[0] = constant;
        out.fill(u[0]! >>> 16);
      } else {
        let s = seed >>> 0;
        for (let i = 0; i < n; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          f[0] = ((s >>> 8) / 16777216 - 0.5) * 0.04;
          out[i] = u[0]! >>> 16;
        }
      }
      return new Uint8Array(out.buffer);
    },
  };
}

/** Writes the synthetic checkpoint (once per machine) in Phi-3's names and PyTorch layout. */
async function syntheticCheckpoint(): Promise<{ dir: string; bytes: number }> {
  const c = LOAD_CONFIG;
  const dir = join(tmpdir(), "birdvlm-bench-phi3-load-v1");
  const d = c.hiddenSize;
  const tensors: Record<string, RawTensor> = {
    "model.embed_tokens.weight": bf16Tensor([c.vocabSize, d], 1),
    "model.norm.weight": bf16Tensor([d], 0, 1),
    "lm_head.weight": bf16Tensor([c.vocabSize, d], 2),
  };
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}`;
    tensors[`${p}.self_attn.qkv_proj.weight`] = bf16Tensor([3 * d, d], 10 * l + 3);
    tensors[`${p}.self_attn.o_proj.weight`] = bf16Tensor([d, d], 10 * l + 4);
    tensors[`${p}.mlp.gate_up_proj.weight`] = bf16Tensor([2 * c.intermediateSize, d], 10 * l + 5);
    tensors[`${p}.mlp.down_proj.weight`] = bf16Tensor([d, c.intermediateSize], 10 * l + 6);
    tensors[`${p}.input_layernorm.weight`] = bf16Tensor([d], 0, 1);
    tensors[`${p}.post_attention_layernorm.weight`] = bf16Tensor([d], 0, 1);
  }
  const bytes = Object.values(tensors).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1) * 2, 0);
  if (bytes < 1e9) throw new Error(`phi3-load: the synthetic checkpoint is ${bytes} bytes, under 1 GB`);
  if (!existsSync(join(dir, "model.safetensors.index.json"))) {
    await mkdir(dir, { recursive: true });
    await writeCheckpoint(dir, tensors, { maxShardBytes: 400e6 });
    await writeFile(join(dir, "config.json"), JSON.stringify({ ...Phi3Config.toHF(c), torch_dtype: "bfloat16" }));
  }
  return { dir, bytes };
}

const load = (name: string, weightDtype: "float32" | "bfloat16"): BenchCase =>
  defineCase({
    name,
    unit: "GB/s",
    warmup: 0,
    runs: 5,
    async setup() {
      const { dir, bytes } = await syntheticCheckpoint();
      return {
        async step() {
          const lm = await Phi3ForCausalLM.load(dir, { weightDtype });
          lm.dispose();
          return bytes / 1e9;
        },
      };
    },
  });

export default [
  decode("phi3-decode", true),
  decode("phi3-decode-bf16", true, true),
  decode("phi3-decode-nocache", false),
  load("phi3-load", "float32"),
  load("phi3-load-bf16", "bfloat16"),
];
