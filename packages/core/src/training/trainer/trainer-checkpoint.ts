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
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(statePath, "utf8"));
  } catch (e) {
    throw new Error(`${statePath}: not JSON (${(e as Error).message})`);
  }
  const state = validateTrainerState(json, statePath);
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

/**
 * Checks a parsed `trainer.json` field by field and returns it typed; the error names the file and the first
 * field that is missing or of the wrong kind (a resume never fails later on a `TypeError`).
 */
export function validateTrainerState(json: unknown, path: string): TrainerState {
  const fail = (what: string): never => {
    throw new Error(`${path}: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("expected a JSON object");
  const s = json as Record<string, unknown>;
  if (s.format !== TRAINER_STATE_FORMAT)
    fail(`not a ${TRAINER_STATE_FORMAT} state (format ${JSON.stringify(s.format ?? null)})`);
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const field = (name: string, ok: (v: unknown) => boolean, kind: string) => {
    if (!ok(s[name])) fail(`'${name}' must be ${kind}, got ${JSON.stringify(s[name] ?? null)}`);
  };
  for (const name of ["step", "epoch", "position", "skippedSteps", "badInARow"]) field(name, count, "a count ≥ 0");
  field("seed", (v) => Number.isSafeInteger(v), "an integer");
  field("rng", (v) => Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x)), "4 integers");
  field("elapsedSec", (v) => finite(v) && (v as number) >= 0, "seconds ≥ 0");
  field("pendingLoss", (v) => typeof v === "object" && v !== null, "an object");
  const pending = s.pendingLoss as Record<string, unknown>;
  for (const k of ["sum", "normSum"]) if (!finite(pending[k])) fail(`'pendingLoss.${k}' must be a number`);
  for (const k of ["count", "items"]) if (!count(pending[k])) fail(`'pendingLoss.${k}' must be a count ≥ 0`);
  if (s.earlyStopping !== undefined) {
    const e = s.earlyStopping as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null) fail("'earlyStopping' must be an object");
    const orNull = (v: unknown) => v === null || finite(v);
    if (!orNull(e!.best) || !orNull(e!.bestStep) || !count(e!.badEvals))
      fail("'earlyStopping' must hold best and bestStep (numbers or null) and badEvals (a count)");
  }
  if (s.extra !== undefined && (typeof s.extra !== "object" || s.extra === null)) fail("'extra' must be an object");
  return s as unknown as TrainerState;
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
