/**
 * A small seeded random number generator with a serializable state, for everything in BirdVLM that must be
 * reproducible and resumable: data shuffling, augmentation, dropout seeds.
 *
 * The generator is xoshiro128** (32-bit arithmetic, period 2^128 - 1), seeded through splitmix32 so that
 * nearby seeds give unrelated streams.
 */

/** The four 32-bit words of an {@link Rng}'s state, as saved in a checkpoint. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// Reference: xoshiro128** by Blackman and Vigna (prng.di.unimi.it/xoshiro128starstar.c), seeded by splitmix32.
/**
 * Seeded generator. Same seed, same sequence, on every platform.
 *
 * ```ts
 * const rng = new Rng(42);
 * rng.float();              // in [0, 1)
 * rng.shuffle([1, 2, 3]);   // in place
 * const saved = rng.getState();
 * rng.setState(saved);      // resumes the stream exactly
 * ```
 */
export class Rng {
  private s: RngState;

  /** `seed`: any integer (only its low 32 bits are used). */
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    const next = splitmix32(seed);
    this.s = [next(), next(), next(), next()];
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** A generator that continues from a saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [0, n), without modulo bias. `n` must be a positive integer ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296)
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** A random permutation of `0..n-1`. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** A seed for a TF.js random op (`tf.randomUniform(shape, 0, 1, 'float32', rng.seed())`, dropout). */
  seed(): number {
    return this.nextUint32() & 0x7fffffff;
  }

  /** An independent child generator (advances this one by one draw). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** A copy of the state, to save. */
  getState(): RngState {
    return [...this.s] as RngState;
  }

  /** Restores a state from {@link getState}. */
  setState(state: RngState): void {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
    ) {
      throw new Error(`Rng.setState: expected four unsigned 32-bit integers, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new Error("Rng.setState: the all-zero state is invalid for xoshiro128**");
    this.s = [...state] as RngState;
  }
}
