// The feature normaliser: the reference's EWMA update (α 0.1) from its priors, new keys, and a snapshot that
// restores the same statistics (persisted by the policy actor, not per inference).
import test from 'ava';
import { FeatureNormalizer } from '../actors/tamiyo/feature-normalizer.ts';

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;

test('update first, then standardise: loss prior (0.8, 0.3²), x = 1.1', (t) => {
  const n = new FeatureNormalizer();
  const z = n.normalize('loss', 1.1);
  // d = 0.3; mean = 0.83; var = 0.9·(0.09 + 0.1·0.09) = 0.0891; z = (1.1 − 0.83)/√0.0891
  t.true(close(n.stats('loss')!.mean, 0.83));
  t.true(close(n.stats('loss')!.variance, 0.0891));
  t.true(close(z, 0.27 / Math.sqrt(0.0891)));
});

test('an unknown key starts at (x, 1); variance is floored; a snapshot restores exactly', (t) => {
  const n = new FeatureNormalizer();
  t.is(n.normalize('custom', 5), 0);
  t.true(close(n.stats('custom')!.variance, 0.9));
  for (let i = 0; i < 400; i++) n.normalize('flat', 2);
  t.is(n.stats('flat')!.variance, 1e-6, 'a constant feature floors at 1e-6');
  t.is(n.changes, 401);
  const saved = n.snapshot();
  t.is(n.changes, 0);
  const again = new FeatureNormalizer(JSON.parse(JSON.stringify(saved)));
  t.deepEqual(again.stats('custom'), n.stats('custom'));
  t.deepEqual(again.normalize('loss', 0.5), n.normalize('loss', 0.5));
  const broken = new FeatureNormalizer({ loss: { mean: Number.NaN, variance: 1 } });
  t.deepEqual(broken.stats('loss'), { mean: 0.8, variance: 0.09 }, 'a non-finite saved entry leaves the prior');
});
