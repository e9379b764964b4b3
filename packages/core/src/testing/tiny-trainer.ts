/**
 * Test helper: a tiny causal language model built from core's ops (embedding gather, LayerNorm, fused
 * attention, bias + GELU, matmuls), trained with the `Trainer`, for the determinism and read-back tests.
 */
import { AdamW } from "../training/optimizers/adamw.js";
import { crossEntropy } from "../training/loss.js";
import { Module } from "../model/module.js";
import { biasActivation } from "../ops/bias-activation.js";
import { fusedAttention } from "../ops/fused-attention.js";
import { layerNorm } from "../ops/layer-norm.js";
import { tf } from "../tf.js";
import { Trainer } from "../training/trainer/trainer.js";
import type { TrainerOptions } from "../training/trainer/options.js";

const [V, C, H, T, LAYERS] = [16, 32, 2, 8, 2];

class Block extends Module {
  readonly p: Record<string, tf.Variable> = {};
  constructor(seed: number) {
    super();
    const n = (name: string, shape: number[], s: number) =>
      (this.p[name] = this.registerParameter(name, tf.randomNormal(shape, 0, 0.2, "float32", seed * 100 + s)));
    this.p.ln1g = this.registerParameter("ln1g", tf.ones([C]));
    this.p.ln1b = this.registerParameter("ln1b", tf.zeros([C]));
    n("wqkv", [C, 3 * C], 1);
    n("wo", [C, C], 2);
    this.p.ln2g = this.registerParameter("ln2g", tf.ones([C]));
    this.p.ln2b = this.registerParameter("ln2b", tf.zeros([C]));
    n("w1", [C, 2 * C], 3);
    this.p.b1 = this.registerParameter("b1", tf.zeros([2 * C]));
    n("w2", [2 * C, C], 4);
  }

  /** `[B, T, C]` → `[B, T, C]`. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const [B] = x.shape;
    const p = this.p;
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, C / H]), [0, 2, 1, 3]) as tf.Tensor4D;
    const qkv = tf.matMul(tf.reshape(layerNorm(x, p.ln1g!, p.ln1b!), [B * T, C]), p.wqkv!);
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
    const att = tf.reshape(tf.transpose(fusedAttention(q!, k!, v!, { causal: true }), [0, 2, 1, 3]), [B * T, C]);
    const h = tf.add(x, tf.reshape(tf.matMul(att, p.wo!), [B, T, C])) as tf.Tensor3D;
    const m = biasActivation(tf.matMul(tf.reshape(layerNorm(h, p.ln2g!, p.ln2b!), [B * T, C]), p.w1!), p.b1!, "gelu");
    return tf.add(h, tf.reshape(tf.matMul(m, p.w2!), [B, T, C])) as tf.Tensor3D;
  }
}

/** The model: `ids [B, 8]` int32 → logits `[B, 8, 16]`. 22 parameters (more than a WebGPU shader binds). */
export class TinyLM extends Module {
  readonly embed: tf.Variable;
  readonly blocks: Block[];
  readonly head: tf.Variable;
  readonly lnf: [tf.Variable, tf.Variable];
  constructor(seed = 1) {
    super();
    this.embed = this.registerParameter("embed", tf.randomNormal([V, C], 0, 0.5, "float32", seed));
    this.blocks = Array.from({ length: LAYERS }, (_, i) => this.registerModule(`block${i}`, new Block(seed + i + 1)));
    this.lnf = [this.registerParameter("lnfg", tf.ones([C])), this.registerParameter("lnfb", tf.zeros([C]))];
    this.head = this.registerParameter("head", tf.randomNormal([C, V], 0, 0.2, "float32", seed + 50));
  }

  forward(ids: tf.Tensor2D): tf.Tensor3D {
    const [B] = ids.shape;
    let x = tf.reshape(tf.gather(this.embed, tf.reshape(ids, [-1])), [B, T, C]) as tf.Tensor3D;
    for (const b of this.blocks) x = b.forward(x);
    return tf.reshape(tf.matMul(tf.reshape(layerNorm(x, ...this.lnf), [B * T, C]), this.head), [
      B,
      T,
      V,
    ]) as tf.Tensor3D;
  }
}

/** Batches of `ids [4, 8]` with repeated tokens (so embedding gradients sum duplicate rows). */
function* batches(count: number): Generator<{ ids: tf.Tensor2D }> {
  for (let s = 0; s < count; s++) {
    yield {
      ids: tf.tensor2d(
        Array.from({ length: 4 * T }, (_, i) => (i * 5 + s * 3) % 11),
        [4, T],
        "int32",
      ),
    };
  }
}

/**
 * A trainer of a fresh {@link TinyLM} (AdamW, gradient clipping) over `steps` steps of next-token loss; the
 * loss is NaN at the 0-based step `nanAtStep`, if given.
 */
export function tinyTrainer(
  steps: number,
  options: Partial<TrainerOptions<{ ids: tf.Tensor2D }>> = {},
  nanAtStep?: number,
): { model: TinyLM; trainer: Trainer<{ ids: tf.Tensor2D }> } {
  const model = new TinyLM();
  const trainer = new Trainer<{ ids: tf.Tensor2D }>({
    model,
    loss: (b, ctx) =>
      tf.tidy(() => {
        const logits = model.forward(b.ids);
        const x = tf.reshape(tf.slice(logits, [0, 0, 0], [4, T - 1, V]), [-1, V]);
        const y = tf.reshape(tf.slice(b.ids, [0, 1], [4, T - 1]), [-1]);
        const loss = crossEntropy(x, y) as tf.Scalar;
        return ctx.step === nanAtStep ? (tf.mul(loss, NaN) as tf.Scalar) : loss;
      }),
    data: () => batches(steps),
    optimizer: (params) => new AdamW(params, { lr: 1e-2, weightDecay: 0.05 }),
    maxSteps: steps,
    clipGradNorm: 0.5,
    disposeBatch: true,
    progress: false,
    ...options,
  });
  return { model, trainer };
}
