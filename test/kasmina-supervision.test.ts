// Kasmina's seed actors are supervised children of the manager (SEED_SPEC, supervision/dynamic-children.ts): a seed
// that crashes comes back in the stage it stood in, with its module's weights; one that crashes past its restarts is
// culled, the reason in Kasmina's telemetry. The crash is injected through a failing dependency (the catalog the
// seed reads each time it publishes its state).
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { signCommand } from '../contracts/command-signing.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import type { KarnCatalogReader } from '../actors/karn/index.ts';
import { SEED_SPEC } from '../actors/kasmina/seed-actor.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { catalog, secret, startSeedRun } from './helpers/seed-run.ts';

const { CommandType } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

/** Karn's catalog, throwing on its next `failures` reads. */
class FailingCatalog implements KarnCatalogReader {
  failures = 0;
  get(blueprintId: string): v1.BlueprintDescriptor | null {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('catalog unavailable');
    }
    return catalog.get(blueprintId);
  }
  has = (blueprintId: string) => catalog.has(blueprintId);
  all = () => catalog.all();
  listByTier = (tier: v1.BlueprintTier) => catalog.listByTier(tier);
  get size(): number {
    return catalog.size;
  }
}

const start = (failing: FailingCatalog) =>
  startSeedRun({
    dataset: spiralsDataset({ rngSeed: 5 }),
    backend: 'cpu',
    tolaria: {
      experiment: 'seeds',
      dataset: { kind: 'spirals' },
      optimizer: { kind: 'adam', learningRate: 0.01 },
      epochs: 50,
    },
    kasmina: {
      timings: {
        trainingSteps: 20,
        blending: { kind: 'linear', totalSteps: 400 },
        shadowingSteps: 10,
        probationSteps: 10,
        embargoMs: 150,
      },
      impactTolerance: 0.25,
      isolationEvery: 2,
    },
    catalog: failing,
    seedSpec: { ...SEED_SPEC, backoff: { ...SEED_SPEC.backoff, baseMs: 5, maxMs: 20, jitter: 0 } },
  });

const weightsOf = (module: {
  variables: ReadonlyMap<string, { dataSync(): Float32Array | Int32Array | Uint8Array }>;
}) => [...module.variables.values()].map((v) => [...v.dataSync()]);

test.serial(
  'a seed that crashes is restarted from its last state: same stage, α and counters, same weights, a new module',
  async (t) => {
    const failing = new FailingCatalog();
    const h = start(failing);
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('grow-1', 'BP009', { depth: 1 })).applied);
    await h.reached('grow-1', 'BLENDING');
    // Training held, so nothing moves while the seed crashes and comes back.
    await h.system.pause(h.trainer);
    const records = async () =>
      (
        await h.system.ask(
          h.kasmina,
          leyline.SeedCheckpointRequest.create({ trainingRunId: 'seeds' }),
          leyline.SeedCheckpoint,
          5_000,
        )
      ).seeds.map((s) => leyline.SeedRecord.create(s));
    const [before] = await records();
    const graft = h.surface.grafts.bySeed('grow-1')!;
    const weights = weightsOf(graft.module);

    // A PAUSE makes the seed publish its state: the catalog throws, the seed's handler fails.
    failing.failures = 1;
    const pause = leyline.AdaptationCommand.create({
      version: 1,
      commandId: 'pause-1',
      commandType: CommandType.COMMAND_PAUSE,
      targetSeedId: 'grow-1',
      annotations: { action: 'pause' },
    });
    await h.ask(signCommand(pause, secret));
    await h.packets.waitFor((p) =>
      p.events.some((e) => e.description === 'seed_restarted' && e.attributes?.seed_id === 'grow-1'),
    );

    const [after] = await records();
    t.is(failing.failures, 0, 'the catalog did throw');
    t.like(after, {
      seedId: 'grow-1',
      stage: before!.stage,
      alpha: before!.alpha,
      stageSteps: before!.stageSteps,
      alphaSteps: before!.alphaSteps,
      kernelDigest: before!.kernelDigest,
      paused: false,
    });
    const back = h.surface.grafts.bySeed('grow-1')!;
    t.truthy(back, 'grafted again');
    t.not(back.module, graft.module, 'a new incarnation with a module of its own');
    t.deepEqual(weightsOf(back.module), weights, "the module's weights as they were");
    t.is(back.stage, before!.stage);
    h.system.resume(h.trainer);
    await h.system.shutdown();
  },
);

test.serial(
  'a seed that crashes past its restarts is culled: out of the host, the reason in the seed_culled event; training goes on',
  async (t) => {
    const failing = new FailingCatalog();
    const h = start(failing);
    await h.epochs.waitFor((e) => e.epoch === 0);
    t.true((await h.germinate('doomed', 'BP009', { depth: 1 })).applied);
    await h.reached('doomed', 'TRAINING');
    failing.failures = Number.POSITIVE_INFINITY;
    const culled = await h.packets.waitFor((p) => p.events.some((e) => e.description === 'seed_culled'));
    const event = culled.events.find((e) => e.description === 'seed_culled')!;
    t.is(event.attributes?.seed_id, 'doomed');
    t.is(event.attributes?.slot, 'mlp.0');
    t.regex(event.attributes?.reason ?? '', /^crashed \(restarted 2 times\): .*Error: catalog unavailable/);
    failing.failures = 0;
    t.is(h.surface.grafts.bySeed('doomed'), undefined, 'out of the forward pass');
    const { seeds } = await h.system.ask(
      h.kasmina,
      leyline.SeedCheckpointRequest.create({ trainingRunId: 'seeds' }),
      leyline.SeedCheckpoint,
      5_000,
    );
    t.deepEqual(seeds, [], 'Kasmina no longer has it');
    const last = h.epochs.seen.at(-1)?.epoch ?? 0;
    await h.epochs.waitFor((e) => e.epoch > last + 1);
    await h.system.shutdown();
  },
);
