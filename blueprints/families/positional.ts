// learned_positional: a learned additive encoding of where each activation sits. Dense slot: y_i = x_i +
// a_i·sin(f_i·i + φ_i) over feature index i. Conv slot: y[h, w, c] = x + a_c·(sin(f_c·h + φ_c) + cos(f_c·w + φ_c)).
// Frequencies f start at `frequency` (radians per position), amplitudes a at zero (so the module starts as the
// identity), phases φ at zero; all three are learned.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';

export const learnedPositional: Family = {
  name: 'learned_positional',
  slotKinds: ['dense', 'conv'],
  defaults: { frequency: 0.5 },
  build(context) {
    const { width, weights, kind } = context;
    const amplitude = weights.zeros('amplitude', [width]);
    const frequency = weights.filled('frequency', [width], context.parameters.frequency!);
    const phase = weights.zeros('phase', [width]);
    const dims = context.slot.dims;
    return {
      apply(x) {
        if (kind === 'dense') {
          const index = tf.range(0, width);
          return x.add(amplitude.mul(frequency.mul(index).add(phase).sin()));
        }
        const [height, columns] = dims as [number, number, number];
        const rows = tf.range(0, height).reshape([height, 1, 1]);
        const cols = tf.range(0, columns).reshape([1, columns, 1]);
        const encoding = frequency.mul(rows).add(phase).sin().add(frequency.mul(cols).add(phase).cos());
        return x.add(encoding.mul(amplitude));
      },
    };
  },
};
