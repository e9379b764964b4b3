// Test-only helper: seeded fuzzing of the loaders with hostile inputs. Every case derives its generator from the
// run's seed and its index, so a failure reproduces with BIRDVLM_FUZZ_SEED=<seed> (the seed is printed); each
// case has a time limit (a hang fails), and the outcome of a case must be either success or the library's own
// error: an Error that is not a TypeError, RangeError or ReferenceError (a crash in our code) and whose message
// names the file that was bad.

/** A small seeded generator (mulberry32), independent of the code under test. */
export class FuzzRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The run's seed: `BIRDVLM_FUZZ_SEED`, else a fixed one (so CI is deterministic; set the variable to explore). */
export function fuzzSeed(): number {
  const env = process.env.BIRDVLM_FUZZ_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : 20261207;
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  /** Cases to run. */
  cases: number;
  /** Time limit of one case, ms. */
  timeoutMs: number;
  /** Live tensors (`tf.memory().numTensors`): checked unchanged after each case, when given. */
  tensors?: () => number;
}

/** What one case did: the input's description (for the failure message) and the files a good error names. */
export interface FuzzCase {
  /** What was mutated, e.g. `flipped byte 12 of model.safetensors`. */
  what: string;
  /** Any of these in the message makes an error the library's own (a path or a file name). */
  names: string[];
  /** Loads the mutated input; may return something to dispose. */
  load: () => Promise<{ dispose?: () => void } | void>;
}

/** Whether `e` is an error the library raised on purpose about a file in `names`. */
export function isOwnError(e: unknown, names: readonly string[]): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError) return false;
  return names.some((n) => e.message.includes(n));
}

/**
 * Runs `cases` seeded cases of `name`: `make(rng, index)` builds a mutated input and how to load it. Fails on the
 * first case that hangs, throws anything but the library's own error, or leaks tensors, naming the seed and case.
 */
export async function fuzz(
  name: string,
  options: FuzzOptions,
  make: (rng: FuzzRng, index: number) => Promise<FuzzCase>,
): Promise<{ loaded: number; refused: number }> {
  const seed = fuzzSeed();
  console.log(`fuzz ${name}: seed ${seed}, ${options.cases} cases (BIRDVLM_FUZZ_SEED=${seed} reproduces)`);
  let loaded = 0;
  let refused = 0;
  for (let i = 0; i < options.cases; i++) {
    const rng = new FuzzRng(seed * 7919 + i * 104729);
    const c = await make(rng, i);
    const where = `fuzz ${name}: case ${i} of seed ${seed} (${c.what})`;
    const before = options.tensors?.();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${where}: no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    try {
      const result = await Promise.race([c.load(), limit]);
      result?.dispose?.();
      loaded++;
    } catch (e) {
      if ((e as Error)?.message?.startsWith(where)) throw e;
      if (!isOwnError(e, c.names))
        throw new Error(`${where}: not the library's own error: ${String((e as Error)?.stack ?? e)}`);
      refused++;
    } finally {
      clearTimeout(timer);
    }
    const after = options.tensors?.();
    if (before !== undefined && after !== before) throw new Error(`${where}: ${after! - before} tensors leaked`);
  }
  return { loaded, refused };
}

/** `bytes` damaged one way: flipped bytes, cut short, bytes inserted or a stretch repeated. Returns a description. */
export function mutateBytes(bytes: Uint8Array, rng: FuzzRng): { bytes: Uint8Array; what: string } {
  const b = Uint8Array.from(bytes);
  switch (rng.int(4)) {
    case 0: {
      const n = 1 + rng.int(8);
      const at: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = rng.int(b.length);
        b[i] = b[i]! ^ (1 + rng.int(255));
        at.push(i);
      }
      return { bytes: b, what: `flipped bytes ${at.join(",")}` };
    }
    case 1: {
      const cut = rng.int(b.length);
      return { bytes: b.subarray(0, cut), what: `cut to ${cut} of ${b.length} bytes` };
    }
    case 2: {
      const at = rng.int(b.length + 1);
      const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
      const out = new Uint8Array(b.length + extra.length);
      out.set(b.subarray(0, at));
      out.set(extra, at);
      out.set(b.subarray(at), at + extra.length);
      return { bytes: out, what: `inserted ${extra.length} bytes at ${at}` };
    }
    default: {
      const from = rng.int(b.length);
      const len = 1 + rng.int(Math.min(64, b.length - from));
      const out = new Uint8Array(b.length + len);
      out.set(b.subarray(0, from + len));
      out.set(b.subarray(from, from + len), from + len);
      out.set(b.subarray(from + len), from + 2 * len);
      return { bytes: out, what: `repeated bytes ${from}..${from + len}` };
    }
  }
}

/** Values that break assumptions, for JSON fields and table cells. */
export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  -1,
  0,
  1,
  1.5,
  1e12,
  -0,
  Number.MAX_SAFE_INTEGER + 2,
  "",
  "3",
  "__proto__",
  [],
  [1, 2],
  {},
  JSON.parse('{"__proto__": 1}') as unknown,
  true,
  "../../../../etc/passwd",
];

/**
 * A JSON value with one edit deep inside: a field deleted, replaced by a hostile value, or its number nudged.
 * Objects and arrays are walked at random; returns the edited copy and a description.
 */
export function mutateJson(value: unknown, rng: FuzzRng): { value: unknown; what: string } {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const path: string[] = [];
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node: unknown = copy;
  // walk down a random path, stopping at random
  while (node !== null && typeof node === "object" && (parent === undefined || rng.float() < 0.7)) {
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = rng.pick(keys as Array<string | number>);
    path.push(String(key));
    node = (parent as Record<string, unknown>)[key as string];
  }
  if (parent === undefined || key === undefined)
    return { value: rng.pick(HOSTILE_VALUES), what: "replaced the whole JSON" };
  const at = path.join(".");
  const op = rng.int(3);
  if (op === 0 && !Array.isArray(parent)) {
    delete (parent as Record<string, unknown>)[key as string];
    return { value: copy, what: `deleted ${at}` };
  }
  if (op === 1 && typeof node === "number") {
    const v = rng.pick([node + 1, node - 1, node * 2, Math.floor(node / 2), -node]);
    (parent as Record<string, unknown>)[key as string] = v;
    return { value: copy, what: `${at}: ${node} -> ${v}` };
  }
  const v = rng.pick(HOSTILE_VALUES);
  (parent as Record<string, unknown>)[key as string] = v;
  return { value: copy, what: `${at} -> ${JSON.stringify(v)}` };
}
