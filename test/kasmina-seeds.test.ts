// Seeds in a real training run: the trainer and the seed manager share the graft table; a signed GERMINATE walks a
// seed through every stage to FOSSILIZED with real training (its weights change and it changes the host's output);
// a NaN-injecting seed fails G1 and goes CULLED → EMBARGOED → RESETTING → DORMANT, leaving no tensors behind;
// unsigned and replayed commands change nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { CommandVerifier, signCommand } from '../contracts/command-signing.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { buildModule } from '../actors/karn/modules/index.ts';
import { KernelSource, type KernelStore } from '../actors/kasmina/kernel-source.ts';
import { kasminaLogic } from '../actors/kasmina/manager-actor.ts';
import { resolveKasminaConfig } from '../actors/kasmina/settings.ts';
import { spiralsDataset } from '../actors/tolaria/data/synthetic.ts';
import { GraftTable } from '../actors/tolaria/host/graft-table.ts';
import { resolveTolariaConfig } from '../actors/tolaria/trainer/settings.ts';
import { TrainingSurface } from '../actors/tolaria/trainer/surface.ts';
import { trainerLogic, type RunResult } from '../actors/tolaria/trainer/trainer-actor.ts';
import type { KernelFetchResult } from '../actors/urza/index.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { selectTensorBackend, tf } from '../runtime/tensor-backend.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog, gate } from './helpers/events.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedOperation } = leyline;

test.before(async () => {
  await selectTensorBackend('cpu');
});

const dataset = spiralsDataset({ seed: 5 });
const secret = new SignatureContext('kasmina-seeds-test');
const { catalog } = setUpKarn({});

/** A kernel library that builds what it is asked for (Urza's role, without the forge). */
const store: KernelStore = {
  fetchKernel(blueprintId, slot): KernelFetchResult {
    const descriptor = catalog.get(blueprintId)!;
    const parameters: Record<string, number> = blueprintId === 'BP045' ? { frequency: 0.1 } : blueprintId === 'BP009' ? { depth: 1 } : {};
    const module = buildModule(descriptor, parameters, { dims: [...(slot as readonly number[])] }, { seed: 7 });
    return { status: 'found', module, entry: leyline.KernelCatalogEntry.create({}), fromCache: true, latencyMs: 0.5 };
  },
};

function seedCommand(operation: v1.SeedOperation, seedId: string, blueprintId = '', parameters: Record<string, number> = {}): v1.AdaptationCommand {
  return leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_SEED,
    targetSeedId: seedId,
    seedOperation: { operation, blueprintId, parameters },
    annotations: { slot_id: 'mlp.0' },
  });
}

function start(epochs: number) {
  const system = testSystem();
  const packets = new EventLog<v1.TelemetryPacket>();
  const telemetry = system.spawn(null, statelessLogic<v1.TelemetryPacket>('recorder', (p) => packets.push(p)), { name: 'telemetry' });
  const surface = new TrainingSurface();
  const settings = resolveKasminaConfig({
    timings: { trainingSteps: 20, blending: { kind: 'linear', totalSteps: 10 }, shadowingSteps: 10, probationSteps: 10, embargoMs: 150 },
    impactTolerance: 0.25,
    isolationEvery: 2,
  });
  const kasmina = system.spawn(
    null,
    kasminaLogic({ settings, verifier: new CommandVerifier(secret), kernels: new KernelSource(store), catalog, surface, telemetry }),
    { name: 'kasmina' },
  );
  const done = gate<RunResult>();
  const epochsSeen = new EventLog<number>();
  const trainer = system.spawn(
    null,
    trainerLogic({
      settings: resolveTolariaConfig({ experiment: 'seeds', dataset: { kind: 'spirals' }, optimizer: { kind: 'adam', learningRate: 0.01 }, epochs, control: { hookBudgetMs: 10_000 }, sliceMs: 20 }),
      runId: 'seeds',
      runDir: mkdtempSync(join(tmpdir(), 'esper-seeds-')),
      resume: false,
      dataset,
      backend: 'cpu',
      telemetry,
      tamiyo: null,
      kasmina,
      surface,
      monitor: { epoch: (s) => epochsSeen.push(s.epoch), finished: done.open },
    }),
    { name: 'trainer' },
  );
  const ask = (command: v1.AdaptationCommand) => system.ask(kasmina, command, leyline.AdaptationReceipt, 5_000);
  const stagesOf = (seedId: string) =>
    packets.seen.flatMap((p) => p.events.filter((e) => e.description === 'seed_stage_changed' && e.attributes?.seed_id === seedId).map((e) => e.attributes?.to));
  return { system, packets, surface, kasmina, trainer, finished: done.promise, epochsSeen, ask, stagesOf };
}

test.serial('a germinated seed trains through every stage to FOSSILIZED and then changes the host output', async (t) => {
  const h = start(8);
  await h.epochsSeen.waitFor((e) => e === 0);
  const receipt = await h.ask(signCommand(seedCommand(SeedOperation.SEED_OP_GERMINATE, 'grow-1', 'BP009', { depth: 1 }), secret));
  t.true(receipt.applied, receipt.reason);
  const graft = await (async () => {
    await h.packets.waitFor((p) => p.events.some((e) => e.attributes?.to === 'TRAINING'));
    return h.surface.grafts.bySeed('grow-1')!;
  })();
  const weightsAtGraft = [...graft.module.variables.values()].map((v) => [...v.dataSync()]);
  await h.packets.waitFor((p) => p.events.some((e) => e.description === 'seed_stage_changed' && e.attributes?.to === 'FOSSILIZED'), { timeoutMs: 60_000 });
  t.deepEqual(h.stagesOf('grow-1'), ['GERMINATED', 'TRAINING', 'BLENDING', 'SHADOWING', 'PROBATIONARY', 'FOSSILIZED']);
  const fossil = h.surface.grafts.bySeed('grow-1')!;
  t.is(fossil.stage, Stage.SEED_STAGE_FOSSILIZED);
  t.is(fossil.alpha, 1);
  t.notDeepEqual([...fossil.module.variables.values()].map((v) => [...v.dataSync()]), weightsAtGraft, 'the seed trained');
  // Its output is part of the host's now: the host without it computes something else.
  const probe = h.surface.probe!;
  t.not(probe.probeLoss(h.surface.grafts), probe.probeLoss(new GraftTable()));
  const gates = h.packets.seen.flatMap((p) => p.events.filter((e) => e.description === 'gate_event').map((e) => e.attributes?.gate));
  for (const name of ['G0_SANITY', 'G3_INTERFACE', 'G2_STABILITY', 'G4_SYSTEM_IMPACT']) t.true(gates.includes(name), name);
  const result = await h.finished;
  t.is(result.status, 'completed');
  await h.system.shutdown();
});

test.serial('a NaN-injecting seed fails G1 and goes CULLED → EMBARGOED → RESETTING → DORMANT, freeing its tensors', async (t) => {
  const h = start(6);
  await h.epochsSeen.waitFor((e) => e === 0);
  const before = tf.memory().numTensors;
  t.true((await h.ask(signCommand(seedCommand(SeedOperation.SEED_OP_GERMINATE, 'bad-1', 'BP045', { frequency: 0.1 }), secret))).applied);
  await h.packets.waitFor((p) => p.events.some((e) => e.attributes?.seed_id === 'bad-1' && e.attributes?.to === 'DORMANT'), { timeoutMs: 30_000 });
  t.deepEqual(h.stagesOf('bad-1'), ['GERMINATED', 'TRAINING', 'CULLED', 'EMBARGOED', 'RESETTING', 'DORMANT']);
  const failure = h.packets.seen.flatMap((p) => p.events).find((e) => e.description === 'gate_failure' && e.attributes?.seed_id === 'bad-1');
  t.is(failure?.attributes?.gate, 'G1_GRADIENT_HEALTH');
  t.is(h.surface.grafts.bySeed('bad-1'), undefined, 'out of the forward pass');
  t.true(tf.memory().numTensors <= before + 2, `tensors ${before} → ${tf.memory().numTensors}`);
  await h.system.stop(h.trainer);
  await h.system.shutdown();
});

test.serial('unsigned, replayed and malformed commands change nothing and are answered with the reason', async (t) => {
  const h = start(50);
  await h.epochsSeen.waitFor((e) => e === 0);
  const unsigned = await h.ask(seedCommand(SeedOperation.SEED_OP_GERMINATE, 's', 'BP009', { depth: 1 }));
  t.deepEqual([unsigned.applied, unsigned.reason], [false, 'missing_signature']);
  const signed = signCommand(seedCommand(SeedOperation.SEED_OP_CULL, 'ghost'), secret);
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(signed)), [false, 'unknown seed ghost']);
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(signed)), [false, 'nonce_replayed']);
  const noSlot = signCommand(leyline.AdaptationCommand.create({ version: 1, commandType: CommandType.COMMAND_SEED, targetSeedId: 'x', seedOperation: { operation: SeedOperation.SEED_OP_GERMINATE, blueprintId: 'BP009' } }), secret);
  t.deepEqual(((r) => [r.applied, r.reason])(await h.ask(noSlot)), [false, 'annotation slot_id is empty']);
  t.is(h.surface.grafts.size, 0);
  await h.packets.waitFor((p) => p.events.some((e) => e.description === 'command_rejected' && e.attributes?.reason === 'annotation slot_id is empty'));
  t.is(h.packets.seen.filter((p) => p.events.some((e) => e.description === 'command_rejected')).length, 4);
  await h.system.stop(h.trainer);
  await h.system.shutdown();
});
