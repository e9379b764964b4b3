import { tf } from "../tf.js";
import type { ParameterHolder } from "./contracts.js";

/** How a parameter is stored relative to its reference checkpoint tensor. */
export interface ParameterOptions {
  /** `false` freezes it from the start. Default `true`. */
  trainable?: boolean;
  /**
   * The variable holds the transpose (last two axes) of the reference tensor: PyTorch keeps linear
   * weights as `[out, in]`, BirdVLM as `[in, out]`. `stateDict()` transposes back, `loadStateDict()` in.
   */
  transposed?: boolean;
}

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Fail when a parameter is missing or a tensor is unexpected. Default `true`. Wrong shapes always fail. */
  strict?: boolean;
  /** Where the tensors came from, named in errors (a path). */
  source?: string;
}

interface Parameter {
  variable: tf.Variable;
  transposed: boolean;
}

/** Transposes the last two axes of a tensor of rank ≥ 2. */
export function transposeLast2(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(t, perm);
}

// Reference: PyTorch `torch.nn.Module` (`named_parameters`, `state_dict`, `load_state_dict`).
/**
 * A tree of named parameters (`tf.Variable`s) and child modules, named like the reference checkpoint
 * (`blocks.0.attn.qkv.weight`), so import and export are a name match.
 */
export abstract class Module implements ParameterHolder {
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();
  /** Dropout, drop-path and similar are active only in training mode. */
  protected isTraining = false;

  /** Registers a parameter under `name`; takes ownership of `value` (a tensor or an initializer's output). */
  protected registerParameter(name: string, value: tf.Tensor, options: ParameterOptions = {}): tf.Variable {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`Module: '${name}' is registered twice`);
    const variable = tf.variable(value, options.trainable ?? true);
    if (variable !== (value as unknown)) value.dispose();
    this.params.set(name, { variable, transposed: options.transposed ?? false });
    return variable;
  }

  /** Registers a child module; its parameters are named `name.<its names>`. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`Module: '${name}' is registered twice`);
    this.children.set(name, module);
    return module;
  }

  /** The child modules, by name. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  private walk(prefix: string, visit: (name: string, p: Parameter) => void): void {
    for (const [n, p] of this.params) visit(prefix + n, p);
    for (const [n, c] of this.children) c.walk(`${prefix}${n}.`, visit);
  }

  /** Every parameter with its full name, in registration order. */
  namedParameters(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    this.walk("", (n, p) => out.push([n, p.variable]));
    return out;
  }

  /** Parameters that train (not frozen). */
  trainableParameters(): Array<[string, tf.Variable]> {
    return this.namedParameters().filter(([, v]) => v.trainable);
  }

  /** Number of scalar weights. */
  parameterCount(options: { trainableOnly?: boolean } = {}): number {
    const list = options.trainableOnly ? this.trainableParameters() : this.namedParameters();
    return list.reduce((s, [, v]) => s + v.size, 0);
  }

  /** Stops every parameter (of this module and its children) from training. */
  freeze(): this {
    this.walk("", (_, p) => {
      p.variable.trainable = false;
    });
    return this;
  }

  /** Lets every parameter train again. */
  unfreeze(): this {
    this.walk("", (_, p) => {
      p.variable.trainable = true;
    });
    return this;
  }

  /** Sets training mode for this module and its children. */
  train(mode = true): this {
    this.isTraining = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  /** Evaluation mode (no dropout). */
  eval(): this {
    return this.train(false);
  }

  /** Whether the module is in training mode. */
  get training(): boolean {
    return this.isTraining;
  }

  /**
   * The parameters as new tensors in the reference layout, keyed by reference name. The caller disposes them.
   */
  stateDict(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    this.walk("", (n, p) => {
      out[n] = p.transposed ? tf.tidy(() => transposeLast2(p.variable)) : p.variable.clone();
    });
    return out;
  }

  /**
   * Assigns tensors in the reference layout by name. Missing, unexpected and wrongly shaped names are all
   * listed in one error. The tensors stay owned by the caller.
   */
  loadStateDict(tensors: Record<string, tf.Tensor>, options: LoadStateDictOptions = {}): void {
    const strict = options.strict ?? true;
    const missing: string[] = [];
    const wrongShape: string[] = [];
    const own = new Map<string, Parameter>();
    this.walk("", (n, p) => own.set(n, p));
    for (const [n, p] of own) {
      const t = tensors[n];
      if (!t) {
        missing.push(n);
        continue;
      }
      const shape = p.transposed ? transposeShape(p.variable.shape) : p.variable.shape;
      if (!sameShape(shape, t.shape)) wrongShape.push(`${n}: expected [${shape}], got [${t.shape}]`);
    }
    const unexpected = Object.keys(tensors).filter((n) => !own.has(n));
    const problems: string[] = [];
    if (wrongShape.length) problems.push(`wrong shape: ${wrongShape.join("; ")}`);
    if (strict && missing.length) problems.push(`missing: ${missing.join(", ")}`);
    if (strict && unexpected.length) problems.push(`unexpected: ${unexpected.join(", ")}`);
    if (problems.length) {
      const where = options.source ? ` from ${options.source}` : "";
      throw new Error(`loadStateDict${where}: ${problems.join(" | ")}`);
    }
    for (const [n, p] of own) {
      const t = tensors[n];
      if (!t) continue;
      tf.tidy(() => {
        const v = p.transposed ? transposeLast2(t) : t;
        p.variable.assign(v.dtype === p.variable.dtype ? v : tf.cast(v, p.variable.dtype));
      });
    }
  }

  /** Frees every variable of the tree. */
  dispose(): void {
    this.walk("", (_, p) => p.variable.dispose());
  }
}

function transposeShape(shape: number[]): number[] {
  const s = [...shape];
  const r = s.length;
  if (r >= 2) [s[r - 2], s[r - 1]] = [s[r - 1]!, s[r - 2]!];
  return s;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
