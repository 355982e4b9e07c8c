// The seed manager: admits each AdaptationCommand by Kasmina's rules (admission.ts: signature, nonce, freshness,
// slots), spawns one seed actor per seed and hands commands and Tolaria's step reports to them, and answers each
// command with an AdaptationReceipt carrying the seeds' states. It holds no seed's state but the last SeedState each
// seed answered or told it (the board), and the isolation breaker their measurements feed; the seeds share nothing
// with it but messages. The seeds are supervised children (SEED_SPEC, seed-actor.ts): a seed that crashes is
// restarted from its last state; past its restarts it is culled, leaving nothing in the host (its stop clean-up
// detaches its graft); training goes on.
import { randomUUID } from 'node:crypto';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { CommandVerifier } from '../../contracts/command-signing.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import { safeActorName } from '../../runtime/names.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice, type GaveUp } from '../../supervision/dynamic-children.ts';
import type { TrainingSurface } from '../../surface/index.ts';
import type { KarnCatalogReader } from '../karn/index.ts';
import { admit, receiptFor, type Admission } from './admission.ts';
import { blendingSchedule } from './alpha-schedule.ts';
import type { KernelSource } from './kernel-source.ts';
import { createSeedLifecycle, EMBARGO_STAGES } from './lifecycle.ts';
import { boundaryPackets, emergencyPacket, rejectedPacket, supervisionPacket } from './manager-telemetry.ts';
import { ISOLATION_VERDICT, SEED_SPEC, seedLogic, slotDepth, type SeedMessage } from './seed-actor.ts';
import type { KasminaSettings } from './settings.ts';

const { CommandType, SeedLifecycleStage, SeedOperation } = leyline;

/** Tolaria's and Tamiyo's messages, its seeds' notices (seed-actor.ts), and runtime notices about its seeds. */
export type KasminaMessage =
  | v1.AdaptationCommand
  | v1.SeedStepReport
  | v1.SeedCheckpointRequest
  | v1.SeedRestore
  | v1.SeedState
  | v1.MetricPoint
  | DynamicNotice;

export interface KasminaDeps {
  /** The system the manager runs in: it supervises its seed actors. */
  system: ActorSystem;
  /** How its seed actors are supervised. Default SEED_SPEC. */
  seedSpec?: DynamicChildSpec;
  settings: KasminaSettings;
  verifier: CommandVerifier;
  kernels: KernelSource;
  catalog: KarnCatalogReader;
  surface: TrainingSurface;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
}

/** One incarnation of the manager: a restart starts it afresh (its seeds, children of the old one, are gone). */
export interface ManagerState {
  seeds: Map<string, ActorRef<SeedMessage>>;
  /** The slot of each seed (a culled seed's slot stays embargoed until the seed is DORMANT again). */
  slots: Map<string, string>;
  /** Each seed's SeedState as it last answered or told it. */
  board: Map<string, v1.SeedState>;
  rejected: number;
  /** Control boundaries reported so far (numbers the boundary packets). */
  boundaries: number;
  /**
   * Open after 3 isolation violations (any seeds), for 30 s; 2 clean measurements close it again. While it is open no
   * new seed is grafted: the seeds already in place keep being measured and culled on violation.
   */
  isolationBreaker: CircuitBreaker;
  children: DynamicChildren;
}

/** How long a seed may take over one step report or command before the manager stops waiting for it. */
const STEP_REPORT_DEADLINE_MS = 5_000;

/** A seed culled (for cause) is out of the host for good: a rollback neither brings it back nor lifts its embargo. */
const CULLED_FOR_GOOD: ReadonlySet<number> = new Set([
  ...EMBARGO_STAGES,
  SeedLifecycleStage.SEED_STAGE_DORMANT,
  SeedLifecycleStage.SEED_STAGE_TERMINATED,
]);

const SEED_RESTART_TIMER = 'seed-restart:';

export function kasminaLogic(deps: KasminaDeps): ActorLogic<ManagerState, KasminaMessage> {
  const seedSpec = validateDynamicSpec(deps.seedSpec ?? SEED_SPEC, 'kasmina.seedSpec');
  // Derived from the settings alone: one lifecycle per blending schedule, shared by the seeds that use it.
  const lifecycles = new Map<string, ReturnType<typeof createSeedLifecycle>>();
  /** A GERMINATE may name its blending method (annotation `blending_method`); the configured schedule otherwise. */
  function lifecycleFor(method: string | undefined): ReturnType<typeof createSeedLifecycle> {
    const blending = blendingSchedule(deps.settings.timings.blending, method);
    const key = JSON.stringify(blending);
    let lifecycle = lifecycles.get(key);
    if (!lifecycle) {
      lifecycle = createSeedLifecycle({ ...deps.settings.timings, blending });
      lifecycles.set(key, lifecycle);
    }
    return lifecycle;
  }

  /** Takes in a seed's answer, unless the seed has left meanwhile. */
  function take(state: ManagerState, seedId: string, seedState: v1.SeedState | undefined): void {
    if (seedState && state.seeds.has(seedId)) state.board.set(seedId, seedState);
  }

  /** Hands `message` to a seed and takes in the SeedState it answers with once it has acted. */
  async function handTo(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    seedId: string,
    ref: ActorRef<SeedMessage>,
    message: v1.AdaptationCommand | v1.SeedStepReport | v1.SeedRestore,
  ): Promise<void> {
    take(state, seedId, await ctx.ask(ref, message, leyline.SeedState, STEP_REPORT_DEADLINE_MS));
  }

  function forget(state: ManagerState, seedId: string): void {
    state.seeds.delete(seedId);
    state.slots.delete(seedId);
    state.board.delete(seedId);
  }

  function refuse(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    command: v1.AdaptationCommand,
    admission: Admission & { kind: 'refused' },
  ): ManagerState {
    ctx.log.warn('command rejected', { command: command.commandId, reason: admission.reason });
    if (deps.telemetry)
      ctx.dispatch(
        deps.telemetry,
        rejectedPacket(
          command.commandId,
          admission.reason,
          state.rejected + 1,
          `kasmina-rejected-${command.commandId || randomUUID()}`,
        ),
      );
    ctx.reply(receiptFor(command, admission, state.board.values()));
    return { ...state, rejected: state.rejected + 1 };
  }

  /** The seeds at a control boundary, to telemetry. */
  function reportBoundary(ctx: ActorContext<KasminaMessage>, state: ManagerState): ManagerState {
    if (!deps.telemetry) return state;
    const boundaries = state.boundaries + 1;
    const figures = {
      kernelBreaker: deps.kernels.breaker.state,
      isolationBreaker: state.isolationBreaker.state,
      rejected: state.rejected,
      fallbacks: deps.kernels.counters.fallbacks + deps.kernels.counters.identities,
      latencyBudgetMs: deps.settings.latencyBudgetMs,
    };
    for (const packet of boundaryPackets(boundaries, state.board.values(), state.slots, figures))
      ctx.dispatch(deps.telemetry, packet);
    return { ...state, boundaries };
  }

  /** COMMAND_EMERGENCY: every seed still on trial (GERMINATED…PROBATIONARY) is culled at once; fossilized ones stay. */
  async function emergencyCleanup(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    command: v1.AdaptationCommand,
    admission: Admission & { kind: 'emergency' },
  ): Promise<ManagerState> {
    const culls = admission.cull.map((seedId) => {
      const cull = leyline.AdaptationCommand.create({
        version: 1,
        commandId: `${command.commandId}-${seedId}`,
        commandType: CommandType.COMMAND_SEED,
        targetSeedId: seedId,
        seedOperation: leyline.CommandSeedOperation.create({ operation: SeedOperation.SEED_OP_CULL }),
      });
      return handTo(ctx, state, seedId, state.seeds.get(seedId)!, cull);
    });
    if (deps.telemetry)
      ctx.dispatch(
        deps.telemetry,
        emergencyPacket(command.commandId, admission.cull, state.seeds.size - admission.cull.length),
      );
    for (const outcome of await Promise.allSettled(culls)) {
      if (outcome.status === 'rejected')
        ctx.log.warn('a seed did not act on the emergency cull in time', {
          command_id: command.commandId,
          error: (outcome.reason as Error).message,
        });
    }
    ctx.reply(receiptFor(command, admission, state.board.values()));
    return state;
  }

  function spawnSeed(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    seedId: string,
    slotId: string,
    blendingMethod: string | undefined,
    restore?: v1.SeedRecord,
  ): ActorRef<SeedMessage> {
    const ref = state.children.spawn(
      ctx,
      safeActorName(`seed-${seedId}`),
      seedLogic({
        seedId,
        slotId,
        lifecycle: lifecycleFor(blendingMethod),
        blendingMethod: blendingMethod ?? '',
        ...(restore ? { restore } : {}),
        settings: deps.settings,
        kernels: deps.kernels,
        catalog: deps.catalog,
        surface: deps.surface,
        manager: ctx.self,
        telemetry: deps.telemetry,
      }),
    );
    state.seeds.set(seedId, ref);
    return ref;
  }

  /** A seed's crash and what came of it, as Kasmina's telemetry: restarted from its last state, or culled. */
  function seedSupervision(
    ctx: ActorContext<KasminaMessage>,
    event: 'seed_restarted' | 'seed_culled',
    attributes: Record<string, string>,
  ): void {
    if (event === 'seed_culled') ctx.log.error('seed culled: it crashed past its restarts', attributes);
    if (deps.telemetry)
      ctx.dispatch(
        deps.telemetry,
        supervisionPacket(event, attributes, `kasmina-${event}-${attributes.seed_id}-${randomUUID()}`),
      );
  }

  /** The seed whose actor is at `path`. */
  function seedAt(seeds: ManagerState['seeds'], path: string): string | undefined {
    for (const [seedId, ref] of seeds) if (ref.path === path) return seedId;
    return undefined;
  }

  /** The seed whose actor is named `name`. */
  function seedOf(seeds: ManagerState['seeds'], name: string): string {
    for (const [seedId, ref] of seeds) if (ref.path.endsWith(`/${name}`)) return seedId;
    return name;
  }

  /** A seed given up on (it crashed past its restarts) is out of the host: culled, with the reason. */
  function culled(ctx: ActorContext<KasminaMessage>, state: ManagerState, gaveUp: GaveUp): void {
    const seedId = seedOf(state.seeds, gaveUp.name);
    seedSupervision(ctx, 'seed_culled', {
      seed_id: seedId,
      slot: state.slots.get(seedId) ?? '',
      reason: `crashed (restarted ${gaveUp.restarts} times): ${gaveUp.error}`,
    });
    // Its stop hook took its graft out of the forward pass (a fossilized module stays: it is the host's).
    forget(state, seedId);
  }

  /**
   * A seed's state as it is now, asked for. A seed down after a crash cannot answer before its restart, which waits in
   * this mailbox: it is not asked.
   */
  async function refresh(ctx: ActorContext<KasminaMessage>, state: ManagerState, seedId: string): Promise<void> {
    const ref = state.seeds.get(seedId);
    if (!ref || state.children.isDown(ref as ActorRef<never>)) return;
    try {
      const answer = await ctx.ask(
        ref,
        leyline.SeedCheckpointRequest.create(),
        leyline.SeedCheckpoint,
        STEP_REPORT_DEADLINE_MS,
      );
      take(state, seedId, answer.states[0]);
    } catch (error) {
      ctx.log.warn('a seed did not give its state', { seed_id: seedId, error: (error as Error).message });
    }
  }

  /**
   * Gives a verified command to its seed and answers once the seed has acted on it: the trainer waits for the
   * receipt before its next step, so a graft enters (or leaves) the forward pass at the same step in every run.
   */
  async function handOver(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    command: v1.AdaptationCommand,
    admission: Admission & { kind: 'hand_over' },
  ): Promise<ManagerState> {
    const { seedId, germinate } = admission;
    if (germinate) {
      state.slots.set(seedId, germinate.slotId);
      if (germinate.spawn) {
        spawnSeed(ctx, state, seedId, germinate.slotId, command.annotations?.blending_method);
        // On the board at once (the seed answers with its own state once it has acted), so the receipt — and the
        // next SystemStatePacket — already show the slot taken even if the seed does not answer.
        state.board.set(
          seedId,
          leyline.SeedState.create({
            seedId,
            stage: SeedLifecycleStage.SEED_STAGE_GERMINATED,
            layerDepth: slotDepth(germinate.slotId, deps.surface.probe?.host.slots),
          }),
        );
      }
    }
    await handTo(ctx, state, seedId, state.seeds.get(seedId)!, command).catch((error: unknown) => {
      ctx.log.warn('a seed did not act on its command in time', {
        command_id: command.commandId,
        error: (error as Error).message,
      });
    });
    ctx.reply(receiptFor(command, admission, state.board.values()));
    return state;
  }

  /**
   * Every seed's record, in seed id order (each seed answers once it has handled what came before), its state taken
   * in on the way. A seed down after a crash cannot answer before its restart, which waits in this mailbox: it is left
   * out, as is one that does not answer in time (logged), rather than failing the manager and every seed with it.
   */
  async function records(ctx: ActorContext<KasminaMessage>, state: ManagerState): Promise<v1.SeedRecord[]> {
    const seeds = [...state.seeds]
      .sort(([a], [b]) => a.localeCompare(b))
      .filter(([, ref]) => !state.children.isDown(ref as ActorRef<never>));
    const answers = await Promise.allSettled(
      seeds.map(([, ref]) =>
        ctx.ask(ref, leyline.SeedCheckpointRequest.create(), leyline.SeedCheckpoint, STEP_REPORT_DEADLINE_MS),
      ),
    );
    return answers.flatMap((answer, i) => {
      const seedId = seeds[i]![0];
      if (answer.status === 'fulfilled') {
        take(state, seedId, answer.value.states[0]);
        return answer.value.seeds.slice(0, 1);
      }
      ctx.log.warn('a seed gave no record: it is not kept this time', {
        seed_id: seedId,
        error: (answer.reason as Error).message,
      });
      return [];
    });
  }

  /**
   * Kasmina's seeds become the ones listed, each in its recorded stage: a resumed run's checkpoint (no seed yet), or
   * the snapshot a rollback went back to — a seed that exists takes its record, one germinated since leaves, one gone
   * since comes back; one culled since keeps its fate (the rolled-back steps may be why). Answered with the seeds as
   * restored, once every one has acted.
   */
  async function restore(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    message: v1.SeedRestore,
  ): Promise<ManagerState> {
    const saved = new Map(message.seeds.map((s) => [s.seedId, leyline.SeedRecord.create(s)]));
    const changes: Promise<unknown>[] = [];
    for (const [seedId, ref] of [...state.seeds]) {
      if (CULLED_FOR_GOOD.has(state.board.get(seedId)?.stage ?? 0)) {
        saved.delete(seedId);
        continue;
      }
      const record = saved.get(seedId);
      changes.push(
        handTo(
          ctx,
          state,
          seedId,
          ref,
          leyline.SeedRestore.create({ trainingRunId: message.trainingRunId, seeds: record ? [record] : [] }),
        ),
      );
      // One germinated since leaves (it stops itself once it has let go of its graft).
      if (!record) forget(state, seedId);
    }
    await Promise.allSettled(changes);
    for (const record of saved.values()) {
      if (state.seeds.has(record.seedId)) continue;
      state.slots.set(record.seedId, record.slotId);
      spawnSeed(ctx, state, record.seedId, record.slotId, record.blendingMethod || undefined, record);
    }
    const seeds = await records(ctx, state);
    ctx.reply(leyline.SeedCheckpoint.create({ seeds, states: [...state.board.values()] }));
    return state;
  }

  /** A command from Tolaria or Tamiyo, admitted or refused by Kasmina's rules (admission.ts). */
  async function command(
    ctx: ActorContext<KasminaMessage>,
    state: ManagerState,
    message: v1.AdaptationCommand,
  ): Promise<ManagerState> {
    const admission = admit(message, {
      seeds: [...state.seeds.keys()],
      slots: state.slots,
      board: state.board,
      verify: () => deps.verifier.verify(message),
      isolationAllows: () => state.isolationBreaker.allow(),
    });
    if (admission.kind === 'boundary') {
      ctx.reply(receiptFor(message, admission, state.board.values()));
      return reportBoundary(ctx, state);
    }
    if (admission.kind === 'refused' && !admission.verified) return refuse(ctx, state, message, admission);
    // A verified command is a decision at a control boundary: report the seeds then too.
    const reported = reportBoundary(ctx, state);
    switch (admission.kind) {
      case 'refused':
        return refuse(ctx, reported, message, admission);
      case 'emergency':
        return emergencyCleanup(ctx, reported, message, admission);
      case 'hold':
      case 'not_seed_command':
        // A hold changes nothing; optimizer, rollback and other decisions are Tolaria's to apply.
        ctx.reply(receiptFor(message, admission, reported.board.values()));
        return reported;
      case 'hand_over':
        return handOver(ctx, reported, message, admission);
    }
  }

  return {
    kind: 'kasmina-manager',
    accepts: [
      leyline.AdaptationCommand,
      leyline.SeedStepReport,
      leyline.SeedCheckpointRequest,
      leyline.SeedRestore,
      leyline.SeedState,
      leyline.MetricPoint,
    ],
    start(ctx) {
      const seeds = new Map<string, ActorRef<SeedMessage>>();
      const children = new DynamicChildren(deps.system, seedSpec, SEED_RESTART_TIMER, (name, effect) => {
        if (effect.type === 'restart') seedSupervision(ctx, 'seed_restarted', { seed_id: seedOf(seeds, name) });
      });
      const isolationBreaker = new CircuitBreaker('kasmina.isolation', {
        failureThreshold: 3,
        timeoutMs: 30_000,
        successThreshold: 2,
      });
      return { seeds, slots: new Map(), board: new Map(), rejected: 0, boundaries: 0, isolationBreaker, children };
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.ActorFailed || message instanceof leyline.TimerFired) {
        const gaveUp = await state.children.handle(ctx, message);
        if (gaveUp) culled(ctx, state, gaveUp);
        return state;
      }
      if (message instanceof leyline.ActorStarted) {
        const gaveUp = await state.children.handle(ctx, message);
        if (gaveUp) culled(ctx, state, gaveUp);
        // A seed (re)started: its state as it is now (one restarted after a crash has come back as its record says).
        const seedId = seedAt(state.seeds, message.path);
        if (seedId !== undefined) await refresh(ctx, state, seedId);
        return state;
      }
      if (message instanceof leyline.Terminated) {
        await state.children.handle(ctx, message);
        const seedId = seedAt(state.seeds, message.path);
        if (seedId !== undefined) forget(state, seedId);
        return state;
      }
      if (message instanceof leyline.SeedState) {
        // A seed's state changed on its own (its embargo ended). An answer to an ask may have overtaken this notice
        // on the way: the seed is asked for its state as it is now.
        if (state.seeds.has(message.seedId)) await refresh(ctx, state, message.seedId);
        return state;
      }
      if (message instanceof leyline.MetricPoint) {
        if (message.name === ISOLATION_VERDICT && state.seeds.has(message.attributes?.seed_id ?? '')) {
          if (message.value > 0) state.isolationBreaker.recordFailure();
          else state.isolationBreaker.recordSuccess();
        }
        return state;
      }
      if (message instanceof leyline.SeedCheckpointRequest) {
        const seeds = await records(ctx, state);
        ctx.reply(leyline.SeedCheckpoint.create({ seeds, states: [...state.board.values()] }));
        return state;
      }
      if (message instanceof leyline.SeedRestore) return restore(ctx, state, message);
      if (message instanceof leyline.SeedStepReport) {
        // Handled once every seed has taken the report in: the trainer waits for that before its next step, so a
        // stage or α changes at the same step in every run (a seed that stopped meanwhile is not waited for).
        // A seed down after a crash misses the reports until it is back (it cannot take them before its restart).
        const deliveries = message.seeds.flatMap((stats) => {
          const seedId = stats.seedId ?? '';
          const ref = state.seeds.get(seedId);
          return ref && !state.children.isDown(ref as ActorRef<never>)
            ? [handTo(ctx, state, seedId, ref, message)]
            : [];
        });
        await Promise.allSettled(deliveries);
        return state;
      }
      return command(ctx, state, message);
    },
    inspect: (state) => ({
      seeds: String(state.seeds.size),
      rejected: String(state.rejected),
      isolation_breaker: leyline.CircuitBreakerState[state.isolationBreaker.state] ?? '',
    }),
  };
}
