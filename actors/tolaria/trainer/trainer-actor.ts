// The trainer actor: runs a TrainingRun in time slices (one TimerFired per slice, so control messages and a stop
// are handled between slices), and at each control boundary assembles the SystemStatePacket, runs the control
// hook, applies what comes back, judges the epoch, checkpoints and reports. A restart (after a crash) resumes
// from the newest good checkpoint.
import { performance } from 'node:perf_hooks';
import { leyline, type v1 } from '../../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput } from '../../../contracts/telemetry.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../../runtime/logic.ts';
import { tf } from '../../../tensor/index.ts';
import type { Dataset } from '../data/types.ts';
import { emergencyPacket, levelName } from '../training/emergency.ts';
import { epochSystemState } from '../training/system-state.ts';
import { ControlHook, describeDecision, type HookPhases, type HookResult } from './control-hook.ts';
import { EpochJudge, type Verdict } from './epoch-judge.ts';
import { epochTelemetry } from './epoch-telemetry.ts';
import type { TolariaSettings } from './settings.ts';
import { TrainingSurface, type Graft } from '../../../surface/index.ts';
import { TrainingRun, type EpochResult, type RunRollback, type SavedNetwork } from './training-run.ts';

type TrainerContext = ActorContext<v1.TimerFired | v1.AdaptationCommand>;

const { CommandType, TelemetryLevel, SeedLifecycleStage } = leyline;

/** One line of progress per epoch, for the command line and the run report. */
export interface EpochSummary {
  runId: string;
  epoch: number;
  epochs: number;
  globalStep: number;
  trainLoss: number;
  trainAccuracy: number;
  validationLoss: number | null;
  validationAccuracy: number | null;
  samplesPerSecond: number;
  trainSeconds: number;
  hookMs: number;
  /** Where the boundary's hook time went (control-hook.ts). */
  hookPhases: HookPhases;
  seedsByStage: Record<string, number>;
  emergencyLevel: string;
  conservative: boolean;
  failedReason: string | null;
  liveTensors: number;
  /** What the epoch's control boundary decided (null: no policy in the run). */
  decision: string | null;
  /** Trainable weights: the host's own, and those its grafted seeds add to the forward pass. */
  parameters: { host: number; seeds: number };
  /** Every seed Kasmina reported at the boundary (a culled seed is gone from the next epoch's list). */
  seeds: SeedSummary[];
}

export interface SeedSummary {
  id: string;
  /** The host slot and blueprint, while the seed is grafted ("" once it is not). */
  slot: string;
  blueprint: string;
  stage: string;
  alpha: number;
  ageEpochs: number;
  parameters: number;
}

export interface RunResult {
  runId: string;
  status: 'completed' | 'halted';
  epochs: number;
  globalStep: number;
  testAccuracy: number;
  testLoss: number;
  reason: string | null;
  seconds: number;
  resumedFrom: number | null;
}

/** Process-local observers of a run (the command line's progress lines, tests). Never sent anywhere. */
export interface TrainingMonitor {
  epoch?(summary: EpochSummary): void;
  finished?(result: RunResult): void;
  /**
   * A resumed run's seeds come back (from Urza's kernels) only once this resolves: `esper run` resolves it when the
   * first-use forge has stored the kernels (cli/urza-prefill.ts), which may run after the trainer's first message.
   */
  startAfter?: Promise<void>;
}

export interface TrainerDeps {
  settings: TolariaSettings;
  runId: string;
  runDir: string;
  /** Continue from the newest checkpoint at the first start (restarts always do). */
  resume: boolean;
  /** The dataset, loaded and checked at boot. */
  dataset: Dataset;
  backend: string;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  tamiyo: ActorRef<v1.SystemStatePacket> | null;
  /** Where each boundary's SystemStatePacket is also published after its hook (the bus, for Nissa); never waited on. */
  state?: ActorRef<v1.SystemStatePacket> | null;
  kasmina: ActorRef<v1.AdaptationCommand | v1.SeedStepReport | v1.SeedCheckpointRequest | v1.SeedRestore> | null;
  /** Shared with Kasmina: the graft table and the run's probes. Default: a surface of the trainer's own. */
  surface?: TrainingSurface;
  monitor?: TrainingMonitor;
}

export interface TrainerState {
  run: TrainingRun;
  hook: ControlHook;
  judge: EpochJudge;
  seedStates: v1.SeedState[];
  /** Faults rolled back since the last control boundary. */
  faults: number;
  faultsThisEpoch: number;
  lastHookMs: number;
  lastTamiyoMs: number;
  lastValidationAccuracy: number | null;
  startedAt: number;
  status: 'training' | 'completed' | 'halted';
  /**
   * A resumed run's seeds, brought back at the first message rather than at start: the first-use forge holds the
   * trainer's mailbox until Urza has the kernels they are rebuilt from (cli/urza-prefill.ts).
   */
  seedsToBringBack: { network: SavedNetwork; why: string } | null;
}

const SLICE_TIMER = 'slice';

export function trainerLogic(deps: TrainerDeps): ActorLogic<TrainerState, v1.TimerFired | v1.AdaptationCommand> {
  const { settings } = deps;
  const send = (ctx: TrainerContext, packet: v1.TelemetryPacket): void => {
    if (deps.telemetry) ctx.dispatch(deps.telemetry, packet);
  };
  const eventsPacket = (state: TrainerState, id: string, events: readonly EventInput[]): v1.TelemetryPacket =>
    buildTelemetryPacket({
      packetId: `${deps.runId}-${id}`,
      source: 'tolaria',
      level: Math.max(TelemetryLevel.TELEMETRY_LEVEL_INFO, ...events.map((e) => e.level ?? 0)) as v1.TelemetryLevel,
      metrics: [{ name: 'tolaria.global_step', value: state.run.globalStep }],
      events: [...events],
    });
  /** Sends a verdict's events (unless they went into an epoch packet: `id` null) and its emergency packets. */
  const announce = (
    ctx: TrainerContext,
    state: TrainerState,
    verdict: Verdict,
    id: string | null,
    epoch: number,
  ): void => {
    if (verdict.events.length > 0 && id !== null) send(ctx, eventsPacket(state, id, verdict.events));
    for (const change of verdict.changes) send(ctx, emergencyPacket(change, { runId: deps.runId, epoch }));
  };

  /**
   * Kasmina's records of its seeds, for a checkpoint or a snapshot (null when it does not answer: a checkpoint then
   * keeps the host only, a snapshot leaves the seeds as they are on a rollback).
   */
  async function seedRecords(ctx: TrainerContext): Promise<v1.SeedRecord[] | null> {
    if (!deps.kasmina) return null;
    try {
      return (
        await ctx.ask(
          deps.kasmina,
          leyline.SeedCheckpointRequest.create({ trainingRunId: deps.runId }),
          leyline.SeedCheckpoint,
          settings.control.kasminaDeadlineMs,
        )
      ).seeds.map((s) => leyline.SeedRecord.create(s));
    } catch (error) {
      ctx.log.warn('kasmina gave no seed records: the seeds are not kept this time', {
        error: (error as Error).message,
      });
      return null;
    }
  }

  /**
   * The grown network back as saved (a resumed run's checkpoint, a rollback's snapshot): Kasmina brings its seeds to
   * the saved records — one germinated since leaves — then the modules take their weights and the optimizer its
   * state. What came back, what left and what could not come back is announced (`seeds_restored`). Returns the seed
   * states as they are now.
   */
  async function bringBack(
    ctx: TrainerContext,
    run: TrainingRun,
    network: SavedNetwork,
    why: string,
  ): Promise<v1.SeedState[]> {
    if (!deps.kasmina) {
      if (network.seeds.length > 0)
        ctx.log.warn('the saved state holds seeds but this tree has no Kasmina: the host goes on without them', {
          seeds: network.seeds.map((s) => s.record.seedId).join(','),
        });
      return [];
    }
    const before = run.grafts.all().map((graft) => graft.seedId);
    const restored = await ctx.ask(
      deps.kasmina,
      leyline.SeedRestore.create({ trainingRunId: deps.runId, seeds: network.seeds.map((s) => s.record) }),
      leyline.SeedCheckpoint,
      settings.control.kasminaDeadlineMs,
    );
    const misfits = await run.restoreSeeds(network);
    const kept = new Set(restored.seeds.map((s) => s.seedId));
    const lost = network.seeds
      .filter((s) => !restored.seeds.some((r) => r.seedId === s.record.seedId && r.stage === s.record.stage))
      .map((s) => s.record.seedId);
    const attributes = {
      why,
      seeds: [...kept].join(','),
      removed: before.filter((id) => !kept.has(id)).join(','),
      lost: lost.join(','),
      misfits: misfits.join('; '),
    };
    if (misfits.length > 0 || lost.length > 0) ctx.log.error('seeds not restored as saved', attributes);
    else ctx.log.info('seeds restored', attributes);
    send(
      ctx,
      buildTelemetryPacket({
        packetId: `${deps.runId}-seeds-restored-${run.globalStep}-${run.counters.rollbacks}`,
        source: 'tolaria',
        level:
          lost.length + misfits.length > 0 ? TelemetryLevel.TELEMETRY_LEVEL_ERROR : TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics: [{ name: 'tolaria.seeds.restored', value: kept.size }],
        events: [{ description: 'seeds_restored', attributes }],
      }),
    );
    // The next state packet shows them as they were when saved.
    return restored.states.map((s) => leyline.SeedState.create(s));
  }

  /** After a rollback: the seeds back to the restored state's too. */
  async function afterRollback(ctx: TrainerContext, state: TrainerState, rollback: RunRollback): Promise<TrainerState> {
    if (!rollback.network) return state;
    const why = `rollback (${rollback.trigger}) to ${rollback.tier === 'fast' ? `step ${rollback.attempts.at(-1)?.snapshotStep ?? '?'}` : `the checkpoint of epoch ${rollback.attempts.at(-1)?.checkpointEpoch ?? '?'}`}`;
    return { ...state, seedStates: await bringBack(ctx, state.run, rollback.network, why) };
  }

  async function finish(state: TrainerState, ctx: TrainerContext, reason: string | null): Promise<TrainerState> {
    const test = state.run.testAccuracy();
    const halted = state.judge.halted;
    if (halted && reason?.startsWith('rollback')) {
      // A halt outside a boundary: keep the state for inspection, unless the weights are broken (a resume would
      // start from them).
      if (state.run.weightsFinite()) await state.run.checkpoint({ halted: 1 });
      else
        ctx.log.error('halted with non-finite weights: no checkpoint written; a resume starts from the previous one');
    }
    const result: RunResult = {
      runId: deps.runId,
      status: halted ? 'halted' : 'completed',
      epochs: state.run.epoch,
      globalStep: state.run.globalStep,
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      reason,
      seconds: (performance.now() - state.startedAt) / 1000,
      resumedFrom: state.run.resumed?.epoch ?? null,
    };
    send(
      ctx,
      buildTelemetryPacket({
        packetId: `${deps.runId}-${halted ? 'halted' : 'completed'}`,
        source: 'tolaria',
        level: halted ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL : TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics: [
          { name: 'tolaria.test.accuracy', value: test.accuracy },
          { name: 'tolaria.test.loss', value: test.loss },
          { name: 'tolaria.epochs.completed', value: state.run.epoch },
        ],
        events: [
          {
            description: halted ? 'tolaria.run.halted' : 'tolaria.run.completed',
            level: halted ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL : TelemetryLevel.TELEMETRY_LEVEL_INFO,
            attributes: { run_id: deps.runId, reason: reason ?? '', epochs: String(state.run.epoch) },
          },
        ],
      }),
    );
    ctx.log.info(halted ? 'training halted' : 'training complete', { ...result });
    deps.monitor?.finished?.(result);
    ctx.stopSelf();
    return { ...state, status: halted ? 'halted' : 'completed' };
  }

  /** A command the hook brought that is Tolaria's own to carry out: a learning rate, a rollback (seeds included). */
  async function applyCommand(ctx: TrainerContext, state: TrainerState, hook: HookResult): Promise<TrainerState> {
    const command = hook.command;
    if (!command) return state;
    if (command.commandType === CommandType.COMMAND_OPTIMIZER) {
      const lr = command.optimizerAdjustment?.hyperparameters?.learning_rate;
      if (lr !== undefined && lr > 0) state.run.optimizer.setLearningRate(lr);
    } else if (command.commandType === CommandType.COMMAND_ROLLBACK) {
      return afterRollback(ctx, state, await state.run.rollback('command'));
    }
    return state;
  }

  async function boundary(
    state: TrainerState,
    ctx: TrainerContext,
    closing: { epoch: EpochResult | null; abandoned: boolean },
  ): Promise<TrainerState> {
    const { run, judge } = state;
    const started = performance.now();
    const train = closing.epoch?.train ?? null;
    const packet = epochSystemState({
      runId: deps.runId,
      experimentName: settings.experiment,
      epoch: closing.epoch ? closing.epoch.epoch : run.epoch,
      globalStep: run.globalStep,
      train: train ?? { loss: 0, accuracy: 0, samples: 0, steps: 0, gradNorm: 0, seconds: 0, samplesPerSecond: 0 },
      ...(closing.epoch ? { validation: closing.epoch.validation, slotStats: closing.epoch.slotStats } : {}),
      learningRate: run.learningRate,
      seedStates: state.seedStates,
      backend: deps.backend,
      validationLossHistory: run.validationLosses,
      extraMetrics: {
        hook_latency_ms: state.lastHookMs,
        tamiyo_latency_ms: state.lastTamiyoMs,
        conservative: judge.conservative ? 1 : 0,
        epochs_total: settings.epochs,
        // What the policy compares growth and learning-rate moves with: the host's own weights, the starting rate.
        host_parameters: run.host.parameterCount(),
        initial_learning_rate: settings.optimizer.learningRate,
      },
    });
    const assembled = performance.now();
    const hook = await state.hook.run(packet, judge.conservative);
    const answered = performance.now();
    const seedStates = hook.receipt
      ? hook.receipt.seedStates.map((seed) => leyline.SeedState.create(seed))
      : state.seedStates;
    const applied = await applyCommand(ctx, { ...state, seedStates }, hook);
    const ended = performance.now();
    const hookMs = ended - started;
    const hookPhases: HookPhases = {
      assemblyMs: assembled - started,
      tamiyoMs: hook.tamiyoMs,
      kasminaMs: hook.kasminaMs,
      applyMs: ended - answered,
    };
    // The copy for the bus goes out after the hook, not before: its delivery (Nissa's ingest, the bus consumer's
    // replay ledger written to disk) runs on this thread, and landed inside the hook while it waited for Tamiyo.
    if (deps.state) ctx.dispatch(deps.state, packet);
    const next: TrainerState = { ...applied, lastHookMs: hookMs, lastTamiyoMs: hook.tamiyoMs, faults: 0 };
    if (!closing.epoch && !closing.abandoned) {
      const events = judge.midEpoch(hook);
      if (events.length > 0) send(ctx, eventsPacket(next, `step-${run.globalStep}`, events));
      return next;
    }

    const verdict = judge.endOfEpoch({ hook, hookMs, faults: state.faults, abandoned: closing.abandoned });
    const epochIndex = run.epoch - 1;
    const validation = closing.epoch?.validation ?? null;
    const liveTensors = tf.memory().numTensors;
    const decision = describeDecision(hook);
    // The epoch's record line (the monitor writes it) goes before the checkpoint: a run killed between the two
    // re-trains this epoch on resume and records it again (the record keeps an epoch's last line); the other order
    // could leave a checkpointed epoch with no line at all.
    const seeds = summarizeSeeds(next.seedStates, deps.surface?.grafts.all() ?? []);
    const seedsByStage: Record<string, number> = {};
    for (const seed of seeds) seedsByStage[seed.stage] = (seedsByStage[seed.stage] ?? 0) + 1;
    deps.monitor?.epoch?.({
      runId: deps.runId,
      epoch: epochIndex,
      epochs: settings.epochs,
      globalStep: run.globalStep,
      trainLoss: train?.loss ?? Number.NaN,
      trainAccuracy: train?.accuracy ?? Number.NaN,
      validationLoss: validation?.loss ?? null,
      validationAccuracy: validation?.accuracy ?? null,
      samplesPerSecond: train?.samplesPerSecond ?? 0,
      trainSeconds: train?.seconds ?? 0,
      hookMs,
      hookPhases,
      seedsByStage,
      emergencyLevel: levelName(judge.emergency.level),
      conservative: judge.conservative,
      failedReason: verdict.reason,
      liveTensors,
      decision,
      parameters: {
        host: run.host.parameterCount(),
        seeds: seeds.reduce((sum, seed) => sum + (seed.slot ? seed.parameters : 0), 0),
      },
      seeds,
    });
    await run.checkpoint(
      {
        train_loss: train?.loss ?? 0,
        train_accuracy: train?.accuracy ?? 0,
        ...(validation ? { validation_loss: validation.loss, validation_accuracy: validation.accuracy } : {}),
      },
      (await seedRecords(ctx)) ?? [],
      judge.snapshot(),
    );
    send(
      ctx,
      epochTelemetry({
        runId: deps.runId,
        epoch: epochIndex,
        globalStep: run.globalStep,
        train: train ?? { loss: 0, accuracy: 0, samples: 0, steps: 0, gradNorm: 0, seconds: 0, samplesPerSecond: 0 },
        validation,
        hookMs,
        hookPhases,
        hookBudgetMs: settings.control.hookBudgetMs,
        seedsActive: seedStates.length,
        conservative: judge.conservative,
        breakerState: state.hook.breaker.state,
        emergencyLevel: judge.emergency.level,
        counters: { ...judge.counters, ...run.counters },
        snapshotBytes: run.snapshots.stats.bytes,
        liveTensors,
        learningRate: run.learningRate,
        events: verdict.events,
        decision,
      }),
    );
    announce(ctx, next, verdict, null, epochIndex);
    const after = {
      ...next,
      faultsThisEpoch: 0,
      lastValidationAccuracy: validation?.accuracy ?? state.lastValidationAccuracy,
    };
    if (verdict.halt) return finish(after, ctx, verdict.reason);
    if (run.finished) return finish(after, ctx, null);
    return after;
  }

  return {
    kind: 'tolaria-trainer',
    accepts: [leyline.TimerFired, leyline.AdaptationCommand],
    async start(ctx) {
      // A restart after a crash continues from the newest checkpoint rather than from scratch.
      const resume = deps.resume || ctx.incarnation > 1;
      const surface = deps.surface ?? new TrainingSurface();
      const run = await TrainingRun.open(settings, {
        runId: deps.runId,
        runDir: deps.runDir,
        resume,
        dataset: deps.dataset,
        grafts: surface.grafts,
        onReplicaEvent: (event) => {
          const { kind, ...attributes } = event;
          if (kind === 'failed' || kind === 'abandoned') ctx.log.warn(`training replica ${kind}`, attributes);
          else ctx.log.info(`training replica ${kind}`, attributes);
        },
      });
      surface.probe = run;
      const hook = new ControlHook(
        {
          ...(deps.tamiyo
            ? { tamiyo: (packet, deadline) => ctx.ask(deps.tamiyo!, packet, leyline.AdaptationCommand, deadline) }
            : {}),
          ...(deps.kasmina
            ? { kasmina: (command, deadline) => ctx.ask(deps.kasmina!, command, leyline.AdaptationReceipt, deadline) }
            : {}),
        },
        settings.control,
      );
      const judge = new EpochJudge({ hookBudgetMs: settings.control.hookBudgetMs, ...settings.emergency });
      if (run.resumed) {
        ctx.log.info('resumed from checkpoint', {
          epoch: run.resumed.epoch,
          skipped: run.resumed.skipped.map((s) => `${s.file}: ${s.problem}`),
        });
        judge.restore(run.resumed.judge);
        if (run.resumed.legacy)
          ctx.log.warn('an older checkpoint (format 1): the host only — its seeds and history are not in it', {
            epoch: run.resumed.epoch,
          });
      }
      const seedsToBringBack =
        run.resumed && run.resumed.network.seeds.length > 0
          ? { network: run.resumed.network, why: `resumed from the checkpoint of epoch ${run.resumed.epoch}` }
          : null;
      ctx.log.info('training', {
        run_id: deps.runId,
        experiment: settings.experiment,
        backend: deps.backend,
        host_parameters: run.host.parameterCount(),
        train_samples: run.data.train.n,
        validation_samples: run.data.validation.n,
        test_samples: run.data.test.n,
        epochs: settings.epochs,
        replicas: settings.parallel.replicas,
        starting_epoch: run.epoch,
      });
      ctx.after(SLICE_TIMER, 1, { keepAlive: true });
      return {
        run,
        hook,
        judge,
        seedStates: [],
        seedsToBringBack,
        faults: 0,
        faultsThisEpoch: 0,
        lastHookMs: 0,
        lastTamiyoMs: 0,
        lastValidationAccuracy: null,
        startedAt: performance.now(),
        // A run resumed after its last epoch finishes at its first slice (its result, its end packet), as any run.
        status: 'training',
      };
    },
    async receive(state, message, ctx) {
      if (state.status !== 'training') return state;
      if (state.seedsToBringBack) {
        await deps.monitor?.startAfter;
        const { network, why } = state.seedsToBringBack;
        state = { ...state, seedStates: await bringBack(ctx, state.run, network, why), seedsToBringBack: null };
      }
      if (message instanceof leyline.AdaptationCommand) {
        if (message.commandType !== CommandType.COMMAND_ROLLBACK) {
          ctx.log.warn(
            'command ignored: Tolaria takes ROLLBACK commands; seed and optimizer commands come through the hook',
            { command: message.commandId },
          );
          return state;
        }
        const outcome = await state.run.rollback('command');
        const rolled = await afterRollback(ctx, state, outcome);
        const verdict = state.judge.afterRollback(outcome);
        announce(ctx, rolled, verdict, `rollback-${message.commandId}`, state.run.epoch);
        ctx.reply(
          leyline.AdaptationReceipt.create({
            commandId: message.commandId,
            applied: outcome.restored,
            reason: outcome.restored ? '' : 'nothing to restore',
            seedStates: rolled.seedStates,
          }),
        );
        return verdict.halt ? finish(rolled, ctx, verdict.reason) : rolled;
      }
      if (message.timerId !== SLICE_TIMER) return state;
      const { run } = state;
      if (run.finished) return finish(state, ctx, null);
      const every = settings.control.everySteps;
      const nextFence =
        (Math.floor(run.globalStep / settings.seedReportEverySteps) + 1) * settings.seedReportEverySteps;
      const stopAt = every ? (Math.floor(run.globalStep / every) + 1) * every : undefined;
      const slice = await run.trainFor(settings.sliceMs, Math.min(stopAt ?? Infinity, nextFence), () =>
        seedRecords(ctx),
      );
      // Seeds hear of their steps at fixed step fences (and at faults and epoch ends), and training goes on only
      // once they have acted on it: a seed's stage and α then change at the same step whatever the machine's load.
      // At a fault they hear first (a seed whose gradients went non-finite is culled, though the steps are rolled
      // back); then the rollback brings the other seeds back to the restored state.
      if (deps.kasmina && (slice.kind !== 'progress' || run.globalStep % settings.seedReportEverySteps === 0)) {
        const seeds = run.drainSeedStats();
        if (seeds.length > 0) {
          const report = leyline.SeedStepReport.create({
            trainingRunId: deps.runId,
            globalStep: BigInt(run.globalStep),
            seeds,
          });
          await ctx.deliver(deps.kasmina, report, settings.control.kasminaDeadlineMs).catch((error: unknown) => {
            ctx.log.warn('kasmina did not take a step report in time; training goes on', {
              error: (error as Error).message,
            });
          });
        }
      }
      let next =
        slice.kind === 'fault'
          ? await afterRollback(
              ctx,
              { ...state, faults: state.faults + 1, faultsThisEpoch: state.faultsThisEpoch + 1 },
              slice.rollback,
            )
          : state;
      if (slice.kind === 'fault') {
        const verdict = state.judge.afterRollback(slice.rollback);
        announce(ctx, next, verdict, `fault-${run.counters.faults}`, run.epoch);
        if (verdict.halt) return finish(next, ctx, verdict.reason);
        if (next.faultsThisEpoch >= settings.rollback.maxPerEpoch) {
          next = await boundary(next, ctx, { epoch: run.endEpoch(), abandoned: true });
        }
      } else if (slice.kind === 'epoch_end') {
        next = await boundary(state, ctx, { epoch: run.endEpoch(), abandoned: false });
      } else if (stopAt !== undefined && run.globalStep >= stopAt) {
        next = await boundary(state, ctx, { epoch: null, abandoned: false });
      }
      if (next.status === 'training') ctx.after(SLICE_TIMER, 1, { keepAlive: true });
      return next;
    },
    stop(state) {
      if (deps.surface?.probe === state.run) deps.surface.probe = null;
      state.run.dispose();
    },
    inspect(state) {
      return {
        status: state.status,
        epoch: String(state.run.epoch),
        global_step: String(state.run.globalStep),
        conservative: String(state.judge.conservative),
        emergency_level: levelName(state.judge.emergency.level),
        faults: String(state.run.counters.faults),
        validation_accuracy: state.lastValidationAccuracy === null ? '' : state.lastValidationAccuracy.toFixed(4),
      };
    },
  };
}

function summarizeSeeds(states: readonly v1.SeedState[], grafts: readonly Graft[]): SeedSummary[] {
  const bySeed = new Map(grafts.map((graft) => [graft.seedId, graft]));
  return states.map((seed) => {
    const graft = bySeed.get(seed.seedId ?? '');
    return {
      id: seed.seedId ?? '',
      slot: graft?.slotId ?? '',
      blueprint: graft?.module.blueprintId ?? '',
      stage: (SeedLifecycleStage[seed.stage ?? 0] ?? String(seed.stage)).replace('SEED_STAGE_', '').toLowerCase(),
      alpha: seed.metrics?.alpha ?? 0,
      ageEpochs: seed.ageEpochs ?? 0,
      parameters: seed.metrics?.parameters ?? 0,
    };
  });
}
