/**
 * The trainer's own checkpoints, for resuming a run: `<checkpointDir>/checkpoint-<step>/` with
 * `model.safetensors`, `optimizer.safetensors` and `trainer.json` (step, epoch, data position, RNG, log
 * interval, early stopping). Not to be confused with a model's weight folder (`io/open-checkpoint.ts`,
 * `io/write-checkpoint.ts`), which holds only the weights under their reference names.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { tf } from "../../tf.js";
import type { NamedTensors } from "../optimizers/optimizer.js";
import type { RngState } from "../../random/rng.js";
import type { EarlyStoppingState } from "./early-stopping.js";
import type { TrainableModel, TrainerOptions } from "./options.js";
import { writeFolderAtomic, writeJsonAtomic } from "../../io/atomic.js";
import { readSafetensors } from "../../io/safetensors/reader.js";
import { writeSafetensors } from "../../io/safetensors/writer.js";

/** Format tag of `trainer.json`. */
export const TRAINER_STATE_FORMAT = "birdvlm-trainer/1";

/**
 * What `trainer.json` holds: where the run stands, so that resuming continues exactly.
 * Steps count optimizer steps (attempted, including skipped non-finite ones).
 */
export interface TrainerState {
  /** {@link TRAINER_STATE_FORMAT}. */
  format: typeof TRAINER_STATE_FORMAT;
  /** Optimizer steps done. */
  step: number;
  /** Epoch in progress (0-based). */
  epoch: number;
  /** Batches (micro-batches) of `epoch` already consumed. */
  position: number;
  /** The run's seed (data order of each epoch derives from it). */
  seed: number;
  /** State of the trainer's step RNG (handed to the loss for dropout). */
  rng: RngState;
  /** Non-finite steps skipped so far. */
  skippedSteps: number;
  /** Non-finite steps in a row just before the checkpoint. */
  badInARow: number;
  /** The log interval in progress: sums of step losses and gradient norms, steps and items counted. */
  pendingLoss: { sum: number; normSum: number; count: number; items: number };
  /** Early-stopping state, when enabled. */
  earlyStopping?: EarlyStoppingState;
  /** Seconds of training so far (across resumes). */
  elapsedSec: number;
  /** Anything the caller adds (data provenance, config). */
  extra?: Record<string, unknown>;
}

/** A checkpoint read back: the model and optimizer tensors (caller disposes) and the trainer state. */
export interface LoadedTrainerCheckpoint {
  /** The folder read. */
  dir: string;
  /** `model.safetensors`, by name. */
  model: NamedTensors;
  /** `optimizer.safetensors`, by name. */
  optimizer: NamedTensors;
  /** `trainer.json`. */
  state: TrainerState;
}

/** The folder name of the checkpoint after `step` steps (`checkpoint-<step>`, as Hugging Face's Trainer). */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

/**
 * Writes a training checkpoint folder atomically (a temporary folder beside it, renamed into place):
 * `model.safetensors` (parameters by reference name), `optimizer.safetensors` (optimizer slots) and
 * `trainer.json` ({@link TrainerState}); `extra(tmpDir)` may add files (e.g. `config.json`) before the rename.
 * Tensors are not disposed.
 */
export async function saveTrainerCheckpoint(
  dir: string,
  model: NamedTensors,
  optimizer: NamedTensors,
  state: TrainerState,
  extra?: (tmpDir: string) => Promise<void>,
): Promise<void> {
  await writeFolderAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, "model.safetensors"), model, { format: "pt" });
    await writeSafetensors(join(tmp, "optimizer.safetensors"), optimizer, { format: "pt" });
    await writeJsonAtomic(join(tmp, "trainer.json"), state);
    if (extra) await extra(tmp);
  });
}

/** Reads a checkpoint folder written by {@link saveTrainerCheckpoint}; errors name the folder and the file. */
export async function loadTrainerCheckpoint(dir: string): Promise<LoadedTrainerCheckpoint> {
  const statePath = join(dir, "trainer.json");
  if (!existsSync(statePath)) throw new Error(`${dir}: not a training checkpoint (no trainer.json)`);
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(statePath, "utf8")) as TrainerState;
  } catch (e) {
    throw new Error(`${statePath}: not JSON (${(e as Error).message})`);
  }
  if (state.format !== TRAINER_STATE_FORMAT || !Number.isInteger(state.step) || !Array.isArray(state.rng)) {
    throw new Error(`${statePath}: not a ${TRAINER_STATE_FORMAT} state (format '${String(state.format)}')`);
  }
  const model = await readSafetensors(join(dir, "model.safetensors"));
  let optimizer: NamedTensors;
  try {
    optimizer = await readSafetensors(join(dir, "optimizer.safetensors"));
  } catch (e) {
    Object.values(model).forEach((t) => t.dispose());
    throw e;
  }
  return { dir, model, optimizer, state };
}

/** The `checkpoint-<step>` folders under `root` that hold a `trainer.json`, by ascending step. */
export function listCheckpoints(
  root: string,
): Array<{ /** Steps done. */ step: number; /** Its folder. */ dir: string }> {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^checkpoint-\d+$/.test(e.name))
    .map((e) => ({ step: Number(e.name.slice("checkpoint-".length)), dir: join(root, e.name) }))
    .filter((c) => existsSync(join(c.dir, "trainer.json")))
    .sort((a, b) => a.step - b.step);
}

/** The folder of the latest complete checkpoint under `root`, or `undefined`. */
export function latestCheckpoint(root: string): string | undefined {
  return listCheckpoints(root).at(-1)?.dir;
}

/** Deletes all but the `keep` latest checkpoints under `root`. */
export async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  const all = listCheckpoints(root);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) await rm(c.dir, { recursive: true, force: true });
}

/** Frees the tensors of a loaded checkpoint. */
export function disposeCheckpoint(c: LoadedTrainerCheckpoint): void {
  for (const t of [...Object.values(c.model), ...Object.values(c.optimizer)]) t.dispose();
}

/**
 * The tensors a checkpoint's `model.safetensors` holds (new tensors; the caller disposes): with `trained`
 * only the trained parameters, else the model's `stateDict()` (or its named parameters when it has none).
 */
export function checkpointTensors(
  model: TrainableModel,
  parameters: Array<[string, tf.Variable]>,
  which: TrainerOptions<unknown>["checkpointParameters"],
): NamedTensors {
  if (which === "trained") return Object.fromEntries(parameters.map(([n, v]) => [n, v.clone()]));
  if (model.stateDict) return model.stateDict();
  return Object.fromEntries(model.namedParameters().map(([n, v]) => [n, v.clone()]));
}

/** Puts {@link checkpointTensors} back; every name must match, with its shape (errors name `source`). */
export function restoreCheckpointTensors(
  model: TrainableModel,
  parameters: Array<[string, tf.Variable]>,
  which: TrainerOptions<unknown>["checkpointParameters"],
  tensors: NamedTensors,
  source: string,
): void {
  if (which !== "trained" && model.loadStateDict) {
    model.loadStateDict(tensors, { strict: true, source });
    return;
  }
  const own = new Map(which === "trained" ? parameters : model.namedParameters());
  const problems: string[] = [];
  for (const [n, v] of own) {
    const t = tensors[n];
    if (!t) problems.push(`missing '${n}'`);
    else if (t.shape.join() !== v.shape.join()) problems.push(`'${n}' has shape [${t.shape}], expected [${v.shape}]`);
  }
  for (const n of Object.keys(tensors)) if (!own.has(n)) problems.push(`unexpected '${n}'`);
  if (problems.length) throw new Error(`${source}: ${problems.join("; ")}`);
  for (const [n, v] of own) v.assign(tensors[n]!);
}
