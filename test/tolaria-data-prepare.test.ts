// prepareDataset: validation split, then scaling and standardisation fitted on the training part only.
import test from 'ava';
import { prepareDataset } from '../actors/tolaria/data/prepare.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import type { Dataset } from '../actors/tolaria/data/types.ts';

function pixels(): Dataset {
  const n = 200;
  const x = Float32Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  return {
    train: { x, y, n },
    test: { x: x.slice(0, 40), y: y.slice(0, 10), n: 10 },
    inputShape: [2, 2, 1],
    classes: 2,
  };
}

test('defaults: 10 % validation, pixels scaled by 255, global standardisation from the training part', (t) => {
  const data = pixels();
  const before = data.test.x.slice();
  const prepared = prepareDataset(data, { rngSeed: 3 });
  t.is(prepared.train.n, 180);
  t.is(prepared.validation.n, 20);
  t.is(prepared.test.n, 10);
  t.deepEqual([...prepared.inputShape], [2, 2, 1]);
  const stats = prepared.standardization;
  if (stats === null) return t.fail('expected statistics');
  t.is(stats.mean.length, 1);
  t.true(stats.mean[0]! > 0 && stats.mean[0]! < 1); // fitted after scaling
  const mean = prepared.train.x.reduce((a, b) => a + b, 0) / prepared.train.x.length;
  t.true(Math.abs(mean) < 1e-5);
  // The test split: standardised with the same statistics, and the input dataset left untouched.
  t.true(Math.abs(prepared.test.x[1]! - (before[1]! / 255 - stats.mean[0]!) / stats.std[0]!) < 1e-5);
  t.deepEqual([...data.test.x], [...before]);
  t.is(data.train.x[1], 37);
});

test('options: no scaling, per-feature or no standardisation, stratified validation', (t) => {
  const spirals = spiralsDataset({ train: 400, test: 40 });
  const raw = prepareDataset(spirals, {
    rngSeed: 1,
    scale: false,
    standardize: false,
    validationFraction: 0.25,
    stratify: true,
  });
  t.is(raw.standardization, null);
  t.deepEqual(
    [0, 1, 2, 3].map((c) => raw.validation.y.filter((y) => y === c).length),
    [25, 25, 25, 25],
  );
  t.deepEqual([...raw.test.x], [...spirals.test.x]);
  const perFeature = prepareDataset(spirals, { rngSeed: 1, scale: false, standardize: 'per-feature' });
  t.is(perFeature.standardization?.mean.length, 16);
  t.is(perFeature.validation.n, 40);
});
