// The graph builder's fixed feature scaling: a z-score by each key's prior (mean, std), keys without a prior passed
// through, absent or non-finite values read as 0, and no state: the same value always scales the same way.
import test from 'ava';
import { scaleFeature } from '../policy/index.ts';

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;

test('a key with a prior is standardised by it: (x − mean) / std', (t) => {
  // validation_loss prior (0.8, 0.3): x = 1.1 → 1; x = 0.5 → −1.
  t.true(close(scaleFeature('validation_loss', 1.1), 1));
  t.true(close(scaleFeature('validation_loss', 0.5), -1));
  t.true(close(scaleFeature('validation_loss', 0.8), 0), 'the prior mean scales to 0');
  // Keys with other priors: gradient_norm (1, 0.5), seed_learning_rate (0.01, 0.005), activation_abs_max (4, 3).
  t.true(close(scaleFeature('gradient_norm', 2), 2));
  t.true(close(scaleFeature('seed_learning_rate', 0.02), 2));
  t.true(close(scaleFeature('activation_abs_max', 10), 2));
  t.true(close(scaleFeature('activation_mean', 0), -1), 'a real 0 is a value, not an absence');
  t.true(close(scaleFeature('parameter_span', 0.1), -1));
});

test('a key without a prior passes through unscaled', (t) => {
  t.is(scaleFeature('custom', 5), 5);
  t.is(scaleFeature('samples_per_s', 6000), 6000);
  t.is(scaleFeature('custom', -0.25), -0.25);
});

test('an absent or non-finite value reads 0, for any key', (t) => {
  for (const key of ['validation_loss', 'activation_std', 'custom']) {
    t.is(scaleFeature(key, undefined), 0, `${key} undefined`);
    t.is(scaleFeature(key, null), 0, `${key} null`);
    t.is(scaleFeature(key, Number.NaN), 0, `${key} NaN`);
    t.is(scaleFeature(key, Number.POSITIVE_INFINITY), 0, `${key} +∞`);
    t.is(scaleFeature(key, Number.NEGATIVE_INFINITY), 0, `${key} −∞`);
  }
});

test('fixed, not adaptive: scaling other values in between changes nothing', (t) => {
  const first = scaleFeature('training_loss', 1.4);
  for (let i = 0; i < 100; i++) scaleFeature('training_loss', 100 + i);
  t.is(scaleFeature('training_loss', 1.4), first);
  t.true(close(first, 2));
});
