// The walk-through on real data: an under-sized MLP host (784-64-10) trains on MNIST on the WASM backend; a
// signed GERMINATE grafts a residual seed at its hidden slot, which trains, blends, shadows, passes probation and
// fossilizes; its parameters then really change the host's outputs.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { loadIdxDataset } from '../actors/tolaria/data/dataset.ts';
import { GraftTable } from '../surface/index.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { mnistSeedSettings, startSeedRun } from './helpers/seed-run.ts';

const { SeedLifecycleStage: Stage } = leyline;

test('MNIST: a seed on the MLP host walks every stage to FOSSILIZED with real training', async (t) => {
  const backend = await selectTensorBackend('wasm');
  const h = startSeedRun({
    dataset: loadIdxDataset(),
    backend,
    ...mnistSeedSettings('mnist-seed', 6),
  });
  await h.epochs.waitFor((e) => e.epoch === 0);
  const receipt = await h.germinate('mnist-1', 'BP009', { depth: 1 });
  t.true(receipt.applied, receipt.reason);
  await h.reached('mnist-1', 'TRAINING');
  const module = h.surface.grafts.bySeed('mnist-1')!.module;
  const initial = [...module.variables.values()].map((v) => [...v.dataSync()]);
  // Either end of the walk; a cull is reported with its reason rather than waited out.
  await h.packets.waitFor(
    (p) =>
      p.events.some(
        (e) =>
          e.attributes?.seed_id === 'mnist-1' && (e.attributes?.to === 'FOSSILIZED' || e.attributes?.to === 'CULLED'),
      ),
    { timeoutMs: 120_000 },
  );
  const failure = h.packets.seen
    .flatMap((p) => p.events)
    .find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'mnist-1');
  t.is(failure, undefined, `culled: ${failure?.attributes?.gate} ${failure?.attributes?.reason}`);
  t.deepEqual(h.stagesOf('mnist-1'), ['GERMINATED', 'TRAINING', 'BLENDING', 'SHADOWING', 'PROBATIONARY', 'FOSSILIZED']);
  const graft = h.surface.grafts.bySeed('mnist-1')!;
  t.is(graft.stage, Stage.SEED_STAGE_FOSSILIZED);
  t.notDeepEqual(
    [...graft.module.variables.values()].map((v) => [...v.dataSync()]),
    initial,
    'the seed trained',
  );
  const probe = h.surface.probe!;
  const withSeed = probe.probeLoss(h.surface.grafts);
  const withoutSeed = probe.probeLoss(new GraftTable());
  t.not(withSeed, withoutSeed, 'the fossilized seed is part of the host function');
  t.log(`probe loss with the seed ${withSeed.toFixed(4)}, without ${withoutSeed.toFixed(4)}`);
  const result = await h.finished;
  t.is(result.status, 'completed');
  t.true(result.testAccuracy > 0.9, `test accuracy ${result.testAccuracy}`);
  t.log(`test accuracy ${(result.testAccuracy * 100).toFixed(2)} % after ${result.epochs} epochs`);
  await h.system.shutdown();
});
