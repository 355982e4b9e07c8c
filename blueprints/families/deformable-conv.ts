// deformable_conv (DCN v1, conv slots): a 3×3 convolution whose nine taps sample the input at learned offsets.
// A 3×3 convolution predicts, per position, per tap and per offset group, a (Δrow, Δcolumn) offset (zero at
// init: a regular 3×3 grid); each of the G = divisor of C nearest round(offset_groups) channel groups is sampled
// bilinearly at its own offsets (zero outside the map); the sampled taps are mixed by the deformable kernel,
// then ReLU → 1×1 (zero at init), added to x.
import { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { conv, linear } from '../layers.ts';
import { count, nearestDivisor } from '../params.ts';

const TAPS: readonly (readonly [number, number])[] = [-1, 0, 1].flatMap((dy) =>
  [-1, 0, 1].map((dx) => [dy, dx] as const),
);

export const deformableConv: Family = {
  name: 'deformable_conv',
  slotKinds: ['conv'],
  defaults: { offset_groups: 1 },
  build(context) {
    const [height, width, channels] = context.slot.dims as [number, number, number];
    const groups = nearestDivisor(channels, count(context.parameters.offset_groups!));
    const perGroup = channels / groups;
    const offsets = conv(context, 'offsets', 3, channels, groups * TAPS.length * 2, { init: 'zeros' });
    const mixTaps = linear(context, 'deformable', TAPS.length * channels, channels);
    const project = linear(context, 'pointwise', channels, channels, { init: 'zeros' });
    // Sampling grid without offsets, [1, H, W, 1, taps, 2]: (row + Δrow_tap, column + Δcolumn_tap).
    const grid = new Float32Array(height * width * TAPS.length * 2);
    for (let row = 0; row < height; row++) {
      for (let column = 0; column < width; column++) {
        TAPS.forEach(([dy, dx], tap) => {
          const at = ((row * width + column) * TAPS.length + tap) * 2;
          grid[at] = row + dy;
          grid[at + 1] = column + dx;
        });
      }
    }

    // Bilinear sample of `source` [B·H·W, F] (the flattened map) at fractional positions `at` [B, H, W, 2]
    // whose floors (detached from the tape) are `floor` → [B, H, W, F].
    const sample = (source: tf.Tensor, at: tf.Tensor, floor: tf.Tensor, batch: number): tf.Tensor => {
      const [row, column] = tf.unstack(at, 3) as [tf.Tensor, tf.Tensor];
      const [row0, column0] = tf.unstack(floor, 3) as [tf.Tensor, tf.Tensor];
      const base = tf
        .range(0, batch)
        .mul(height * width)
        .reshape([batch, 1, 1]);
      const corners: tf.Tensor[] = [];
      for (const [dr, dc] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const) {
        const r = row0.add(dr);
        const c = column0.add(dc);
        const weight = tf.sub(1, row.sub(r).abs()).mul(tf.sub(1, column.sub(c).abs()));
        const inside = r
          .greaterEqual(0)
          .logicalAnd(r.lessEqual(height - 1))
          .logicalAnd(c.greaterEqual(0))
          .logicalAnd(c.lessEqual(width - 1));
        const index = r
          .clipByValue(0, height - 1)
          .mul(width)
          .add(c.clipByValue(0, width - 1))
          .add(base)
          .toInt();
        const values = tf.gather(source, index.reshape([-1])).reshape([batch, height, width, -1]);
        corners.push(values.mul(weight.mul(inside.toFloat()).expandDims(3)));
      }
      return tf.addN(corners);
    };

    return {
      apply(x) {
        const batch = x.shape[0]!;
        const shape = [batch, height, width, groups, TAPS.length, 2];
        const positions = offsets(x)
          .reshape(shape)
          .add(tf.tensor(grid, [1, height, width, 1, TAPS.length, 2]));
        // Integer corners carry no gradient; read back so the gather indices are off the gradient tape
        // (tfjs 4.22 fails on a gather whose indices derive from a variable).
        const floors = tf.tensor(positions.floor().dataSync(), shape);
        const taps: tf.Tensor[] = [];
        for (let tap = 0; tap < TAPS.length; tap++) {
          for (let group = 0; group < groups; group++) {
            const pick = (t: tf.Tensor) =>
              t.slice([0, 0, 0, group, tap, 0], [-1, -1, -1, 1, 1, 2]).reshape([batch, height, width, 2]);
            const source = x.slice([0, 0, 0, group * perGroup], [-1, -1, -1, perGroup]).reshape([-1, perGroup]);
            taps.push(sample(source, pick(positions), pick(floors), batch));
          }
        }
        return x.add(project(mixTaps(tf.concat(taps, 3)).relu()));
      },
    };
  },
};
