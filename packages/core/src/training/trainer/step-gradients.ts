/**
 * The arithmetic of one optimizer step before the update: the loss and gradients of each micro-batch,
 * averaged over them (PyTorch's gradient accumulation), clipped to a global norm when asked
 * (`torch.nn.utils.clip_grad_norm_`), and that norm.
 */
import { tf } from "../../tf.js";
import type { Rng } from "../../random/rng.js";
import type { NamedTensors } from "../optimizers/optimizer.js";
import { clipByGlobalNorm, globalNorm } from "../optimizers/clip.js";
import { GradientAccumulator, disposeTensors } from "../optimizers/accumulate.js";
import { disposeBatch, itemsIn } from "./batches.js";
import type { TrainerOptions } from "./options.js";

/** One step's mean loss, gradients by parameter name and their global norm (all owned by the caller). */
export interface StepGradients {
  /** Mean loss over the micro-batches. */
  loss: tf.Scalar;
  /** Mean gradients by parameter name, clipped when `clipGradNorm` is set. */
  grads: NamedTensors;
  /** Global L2 norm of the gradients before clipping. */
  norm: tf.Scalar;
  /** Items (examples) in the micro-batches. */
  items: number;
}

/** Where the step stands, for the loss's {@link StepContext}. */
export interface StepPlace {
  /** Steps done before this one. */
  step: number;
  /** Epoch of the step's batches. */
  epoch: number;
  /** The trainer's step RNG. */
  rng: Rng;
}

/**
 * Runs the loss of each micro-batch under `tf.variableGrads` over `parameters`, frees each batch as
 * `options.disposeBatch` says, and returns the step's mean loss, gradients and norm. On an error, every
 * tensor made so far is freed.
 */
export function stepGradients<B>(
  options: TrainerOptions<B>,
  parameters: Array<[string, tf.Variable]>,
  micro: B[],
  place: StepPlace,
): StepGradients {
  const nameOf = new Map(parameters.map(([n, v]) => [v.name, n]));
  const vars = parameters.map(([, v]) => v);
  const acc = micro.length > 1 ? new GradientAccumulator() : undefined;
  let grads: NamedTensors = {};
  let loss: tf.Scalar | undefined;
  let items = 0;
  try {
    for (let i = 0; i < micro.length; i++) {
      const batch = micro[i]!;
      items += options.itemsInBatch ? options.itemsInBatch(batch) : itemsIn(batch);
      const ctx = { ...place, microStep: i };
      const { value, grads: g } = tf.variableGrads(() => {
        const l = options.loss(batch, ctx);
        if (!(l instanceof tf.Tensor) || l.rank !== 0)
          throw new Error(
            `Trainer: loss(batch) must return a scalar tensor, got ${l instanceof tf.Tensor ? `shape [${l.shape}]` : typeof l}`,
          );
        return l;
      }, vars);
      disposeBatch(batch, options.disposeBatch);
      const named = byName(g, nameOf);
      if (acc) acc.add(named, { dispose: true });
      else grads = named;
      if (loss) {
        const next = tf.add(loss, value) as tf.Scalar;
        tf.dispose([loss, value]);
        loss = next;
      } else loss = value;
    }
    if (acc) grads = acc.mean();
    if (micro.length > 1) {
      const mean = tf.div(loss!, micro.length) as tf.Scalar;
      loss!.dispose();
      loss = mean;
    }
    let norm: tf.Scalar;
    if (options.clipGradNorm !== undefined) {
      const clipped = clipByGlobalNorm(grads, options.clipGradNorm);
      disposeTensors(grads);
      grads = clipped.grads;
      norm = clipped.norm;
    } else norm = globalNorm(grads);
    return { loss: loss!, grads, norm, items };
  } catch (e) {
    disposeTensors(grads);
    loss?.dispose();
    throw e;
  } finally {
    acc?.reset();
  }
}

/** Gradients keyed by parameter name instead of variable name (those of other variables are freed). */
function byName(grads: Record<string, tf.Tensor | null>, nameOf: Map<string, string>): NamedTensors {
  const out: NamedTensors = {};
  for (const [id, g] of Object.entries(grads)) {
    if (!g) continue;
    const name = nameOf.get(id);
    if (name) out[name] = g;
    else g.dispose();
  }
  return out;
}
