// A small synthetic classification task for fast tests and smoke runs: four interleaved 2-D spiral arms, lifted to
// 16 features by a fixed random nonlinear map, with noise. Not linearly separable in 2-D, yet a small MLP learns it
// to > 90 % test accuracy in a few seconds on the CPU backend (test/tolaria-data-synthetic.test.ts proves it).
import { mulberry32 } from '../../../runtime/seeded-random.ts';
import type { Dataset, Split } from './types.ts';

export interface SyntheticOptions {
  /** Training samples (default 3000) and test samples (default 1000), balanced over the classes. */
  readonly train?: number;
  readonly test?: number;
  /** The random seed (default 1): the same rngSeed gives the same data everywhere. */
  readonly rngSeed?: number;
  /** Std of the 2-D noise before lifting (default 0.04); more noise, a harder task. */
  readonly noise?: number;
}

export const SYNTHETIC_FEATURES = 16;
export const SYNTHETIC_CLASSES = 4;

/** One full turn per arm: a linear model stays near 35 %, a 16-32-32-4 MLP passes 90 % within a few epochs. */
const TURNS = 1;

/** The spirals task: inputShape [16], 4 classes, balanced (sample i has class i mod 4). */
export function spiralsDataset(options: SyntheticOptions = {}): Dataset {
  const { train = 3000, test = 1000, rngSeed = 1, noise = 0.04 } = options;
  const random = mulberry32(rngSeed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  // The lift is part of the task (same for train and test): f_k = tanh(a_k · p + b_k).
  const weights = Array.from({ length: SYNTHETIC_FEATURES }, () => [
    1.5 * gaussian(),
    1.5 * gaussian(),
    0.5 * gaussian(),
  ]);
  const make = (n: number): Split => {
    const x = new Float32Array(n * SYNTHETIC_FEATURES);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const label = i % SYNTHETIC_CLASSES;
      const t = random();
      const radius = 0.15 + 0.85 * t;
      const angle = (label * 2 * Math.PI) / SYNTHETIC_CLASSES + t * TURNS * 2 * Math.PI;
      const px = radius * Math.cos(angle) + noise * gaussian();
      const py = radius * Math.sin(angle) + noise * gaussian();
      weights.forEach(([a, b, c], k) => {
        x[i * SYNTHETIC_FEATURES + k] = Math.tanh(a! * px + b! * py + c!);
      });
      y[i] = label;
    }
    return { x, y, n };
  };
  return { train: make(train), test: make(test), inputShape: [SYNTHETIC_FEATURES], classes: SYNTHETIC_CLASSES };
}
