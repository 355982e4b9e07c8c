// A seeded pseudo-random generator, for everything that must be the same on every run and machine (data order,
// initial weights): Math.random cannot be seeded. Its seed is called `rngSeed` everywhere, in code, files and flags:
// a seed is also a module grown in the host.

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, one multiply-xorshift step per draw, uniform in [0, 1).
 * Small, fast and plenty for shuffling and initialisation; not for cryptography.
 */
export function mulberry32(rngSeed: number): () => number {
  let state = rngSeed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a field or flag still named `seed` is refused with (`<field> is now "rngSeed" (…)`). */
export const SEED_IS_NOW_RNG_SEED = 'is now "rngSeed" (the random seed; a seed is a module grown in the host)';

/**
 * A record stored while the random seed was still called `seed` (a run's or a learning run's record, a checkpoint, a
 * policy manifest), read with it under `rngSeed`, so the files of earlier versions still load. A record that has
 * `rngSeed`, or no `seed`, is returned as it is.
 */
export function renameStoredSeed<T>(record: T): T {
  if (typeof record !== 'object' || record === null || 'rngSeed' in record || !('seed' in record)) return record;
  const { seed, ...rest } = record as Record<string, unknown>;
  return { ...rest, rngSeed: seed } as T;
}
