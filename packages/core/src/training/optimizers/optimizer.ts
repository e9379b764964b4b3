import { tf } from "../../tf.js";
import type { ParameterHolder } from "../../model/contracts.js";

/** Tensors keyed by name: gradients keyed by parameter name, or optimizer state keyed `<param>.<slot>`. */
export type NamedTensors = Record<string, tf.Tensor>;

/** Parameters an optimizer updates: `[name, variable]` pairs, or a module (its trainable parameters). */
export type ParameterSource = Array<[string, tf.Variable]> | ParameterHolder;

/**
 * A parameter group: the parameters whose name matches get their own learning rate and/or weight decay.
 * The first group that matches a parameter wins; parameters no group matches use the optimizer's defaults.
 */
export interface ParameterGroup {
  /** A regular expression tested against the parameter name, or a predicate over name and variable. */
  match: RegExp | ((name: string, variable: tf.Variable) => boolean);
  /**
   * Learning rate of this group at the optimizer's base `lr`. When a schedule passes another `lr` to
   * `step`, the group's rate is scaled by the same factor (`groupLr * stepLr / baseLr`), as PyTorch's
   * `LambdaLR` scales every group.
   */
  lr?: number;
  /** Weight decay of this group. Set explicitly, it applies to every member, norms and biases included. */
  weightDecay?: number;
}

/**
 * The default rule for parameters that get no weight decay: rank ≤ 1 tensors (biases, norm scales) and
 * names that say norm, bias, position embedding or class token (`blocks.0.norm1.weight`, `pos_embed`,
 * `cls_token`, `position_embeddings`, `ln_f`).
 */
export function isNoDecayParameter(name: string, variable: tf.Variable): boolean {
  return variable.rank <= 1 || /norm|bias|pos_embed|position|cls_token|\bln_/i.test(name);
}

/**
 * An optimizer over named variables. Gradients come keyed by parameter name (the names of
 * `Module.namedParameters()`); parameters absent from `grads` are left alone (their state does not
 * advance), as PyTorch skips parameters whose `.grad` is `None`.
 */
/** Options of {@link Optimizer.step}. */
export interface OptimizerStepOptions {
  /** Boolean scalar: take the update only where true (a device-side skip). */
  applyIf?: tf.Tensor;
}

export interface Optimizer {
  /** Base learning rate (used when `step` gets none). */
  lr: number;
  /**
   * Applies one update. `grads`: one tensor per parameter name, same shape as the parameter; they stay
   * owned by the caller. `lr`: the learning rate for this step (e.g. from a schedule); default the base
   * `lr`. Reads nothing back to the host. `options.applyIf`: a boolean scalar on the device; where it is false
   * the parameters and the optimizer's state keep their values (the update is computed, then not taken), so a
   * non-finite step can be skipped without reading anything back. The step counts still advance.
   */
  step(grads: NamedTensors, lr?: number, options?: OptimizerStepOptions): void;
  /** Number of `step` calls so far. */
  readonly stepCount: number;
  /** The names of the parameters this optimizer updates, in order. */
  parameterNames(): string[];
  /**
   * The state as new tensors keyed `<param>.<slot>` (PyTorch slot names: `exp_avg`, `exp_avg_sq`,
   * `momentum_buffer`, `step`), plus `__step__` (int32 scalar, the global step count). The caller disposes them.
   */
  stateDict(): NamedTensors;
  /** Restores a state from `stateDict()` (the tensors stay owned by the caller). Unknown or misshapen names throw. */
  loadStateDict(state: NamedTensors): void;
  /** Frees the state tensors (not the parameters). */
  dispose(): void;
}

interface Resolved {
  name: string;
  variable: tf.Variable;
  lr: number | undefined;
  weightDecay: number;
}

/** Options shared by the optimizers of this package. */
export interface BaseOptimizerOptions {
  /** Base learning rate. */
  lr: number;
  /** Weight decay of parameters that no group sets and the no-decay rule does not exclude. Default 0. */
  weightDecay?: number;
  /** Per-name overrides of `lr` and `weightDecay`. */
  groups?: ParameterGroup[];
  /** Which parameters get no default weight decay. Default {@link isNoDecayParameter}. */
  noDecay?: (name: string, variable: tf.Variable) => boolean;
}

/**
 * Shared plumbing of named-parameter optimizers: groups, per-parameter state slots kept as non-trainable
 * variables, state export and import. Subclasses implement `update` for one parameter.
 */
export abstract class NamedOptimizer implements Optimizer {
  lr: number;
  private steps = 0;
  private readonly params: Resolved[];
  private readonly byName = new Map<string, Resolved>();
  /** Per parameter: slot name → variable. Created lazily at a parameter's first update, as in PyTorch. */
  protected readonly slots = new Map<string, Map<string, tf.Variable>>();
  /** Per parameter: number of updates it received. */
  protected readonly paramSteps = new Map<string, number>();

  protected constructor(
    private readonly kind: string,
    params: ParameterSource,
    options: BaseOptimizerOptions,
  ) {
    if (!(options.lr >= 0)) throw new Error(`${kind}: lr must be ≥ 0, got ${options.lr}`);
    this.lr = options.lr;
    const list = Array.isArray(params) ? params : params.trainableParameters();
    const noDecay = options.noDecay ?? isNoDecayParameter;
    const groups = options.groups ?? [];
    if (options.lr === 0 && groups.some((g) => g.lr !== undefined)) {
      throw new Error(`${kind}: groups with their own lr need a base lr > 0 (their rates scale with it)`);
    }
    this.params = list.map(([name, variable]) => {
      if (this.byName.has(name)) throw new Error(`${kind}: parameter '${name}' is listed twice`);
      const g = groups.find((grp) => (grp.match instanceof RegExp ? grp.match.test(name) : grp.match(name, variable)));
      const weightDecay = g?.weightDecay ?? (noDecay(name, variable) ? 0 : (options.weightDecay ?? 0));
      const r: Resolved = { name, variable, lr: g?.lr, weightDecay };
      this.byName.set(name, r);
      return r;
    });
  }

  get stepCount(): number {
    return this.steps;
  }

  parameterNames(): string[] {
    return this.params.map((p) => p.name);
  }

  /** The weight decay each parameter gets (after groups and the no-decay rule), by name. */
  weightDecayOf(name: string): number {
    const p = this.byName.get(name);
    if (!p) throw new Error(`${this.kind}: no parameter '${name}'`);
    return p.weightDecay;
  }

  step(grads: NamedTensors, lr = this.lr, options: OptimizerStepOptions = {}): void {
    for (const name of Object.keys(grads)) {
      const p = this.byName.get(name);
      if (!p) throw new Error(`${this.kind}.step: gradient for unknown parameter '${name}'`);
      const g = grads[name]!;
      if (!sameShape(g.shape, p.variable.shape)) {
        throw new Error(
          `${this.kind}.step: gradient '${name}' has shape [${g.shape}], parameter has [${p.variable.shape}]`,
        );
      }
    }
    const scale = this.lr > 0 ? lr / this.lr : 1;
    this.steps++;
    for (const p of this.params) {
      const g = grads[p.name];
      if (!g) continue;
      const t = (this.paramSteps.get(p.name) ?? 0) + 1;
      this.paramSteps.set(p.name, t);
      const groupLr = p.lr === undefined ? lr : p.lr * scale;
      tf.tidy(() => {
        const slots = this.slotsOf(p.name);
        // Kept handles (no copy) on the values before the update, so that a skipped step can put them back.
        const before = options.applyIf ? [p.variable, ...slots.values()].map((v) => [v, tf.clone(v)] as const) : [];
        const hadSlots = new Set(slots.keys());
        this.update(p.variable, g.dtype === "float32" ? g : tf.cast(g, "float32"), slots, {
          lr: groupLr,
          weightDecay: p.weightDecay,
          t,
        });
        if (!options.applyIf) return;
        const keep = options.applyIf;
        for (const [v, old] of before) v.assign(tf.where(keep, v, old));
        for (const [slot, v] of slots) if (!hadSlots.has(slot)) v.assign(tf.where(keep, v, tf.zerosLike(v)));
      });
    }
  }

  /** Creates or returns the slot variables of a parameter. */
  private slotsOf(name: string): Map<string, tf.Variable> {
    let s = this.slots.get(name);
    if (!s) {
      s = new Map();
      this.slots.set(name, s);
    }
    return s;
  }

  /** A slot variable, created from `init()` at first use. */
  protected slot(slots: Map<string, tf.Variable>, slot: string, init: () => tf.Tensor): tf.Variable {
    let v = slots.get(slot);
    if (!v) {
      v = tf.tidy(() => tf.variable(init(), false));
      slots.set(slot, v);
    }
    return v;
  }

  /** Names of the slots a parameter has once updated. */
  protected abstract slotNames(): string[];

  /** Updates one parameter in place (inside a `tf.tidy`). `t` is that parameter's 1-based update count. */
  protected abstract update(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: Map<string, tf.Variable>,
    h: { lr: number; weightDecay: number; t: number },
  ): void;

  stateDict(): NamedTensors {
    const out: NamedTensors = { __step__: tf.scalar(this.steps, "int32") };
    for (const p of this.params) {
      const s = this.slots.get(p.name);
      const t = this.paramSteps.get(p.name);
      if (t !== undefined) out[`${p.name}.step`] = tf.scalar(t, "int32");
      if (s) for (const [slot, v] of s) out[`${p.name}.${slot}`] = v.clone();
    }
    return out;
  }

  loadStateDict(state: NamedTensors): void {
    const problems: string[] = [];
    const known = new Set(this.slotNames());
    const parsed: Array<[Resolved, string, tf.Tensor]> = [];
    for (const [key, t] of Object.entries(state)) {
      if (key === "__step__") continue;
      const dot = key.lastIndexOf(".");
      const p = dot > 0 ? this.byName.get(key.slice(0, dot)) : undefined;
      const slot = key.slice(dot + 1);
      if (!p || (slot !== "step" && !known.has(slot))) {
        problems.push(`unexpected '${key}'`);
        continue;
      }
      if (slot === "step" ? t.rank !== 0 : !sameShape(t.shape, p.variable.shape)) {
        problems.push(`'${key}' has shape [${t.shape}], expected [${slot === "step" ? "" : p.variable.shape}]`);
        continue;
      }
      parsed.push([p, slot, t]);
    }
    if (problems.length) throw new Error(`${this.kind}.loadStateDict: ${problems.join("; ")}`);
    this.disposeSlots();
    const global = state.__step__;
    this.steps = global ? readScalar(global) : 0;
    for (const [p, slot, t] of parsed) {
      if (slot === "step") this.paramSteps.set(p.name, readScalar(t));
      else
        this.slotsOf(p.name).set(
          slot,
          tf.tidy(() => tf.variable(t.dtype === "float32" ? t : tf.cast(t, "float32"), false)),
        );
    }
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) for (const v of s.values()) v.dispose();
    this.slots.clear();
    this.paramSteps.clear();
  }

  dispose(): void {
    this.disposeSlots();
  }
}

function readScalar(t: tf.Tensor): number {
  return Math.round(t.dataSync()[0]!);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
