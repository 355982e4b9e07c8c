// A seeded pseudo-random generator, for everything that must be the same on every run and machine (data order,
// initial weights): Math.random cannot be seeded.

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, one multiply-xorshift step per draw, uniform in [0, 1).
 * Small, fast and plenty for shuffling and initialisation; not for cryptography.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
