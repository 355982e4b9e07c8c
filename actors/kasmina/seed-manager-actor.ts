// The seed manager: verifies every AdaptationCommand (signature, nonce, freshness), spawns one seed actor per seed
// and routes commands and Tolaria's step reports to them, and answers each command with an AdaptationReceipt
// carrying the seeds' states. Shared state (kernel source and its breaker, verifier and nonce ledger, the board of
// seed states) lives here, not in the seeds. The seeds are supervised children (SEED_SPEC, seed-actor.ts): a seed
// that crashes is restarted from its last state; past its restarts it is culled, leaving nothing in the host (its
// stop clean-up detaches its graft); training goes on.
import { randomUUID } from 'node:crypto';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { CommandVerifier } from '../../contracts/command-signing.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import { safeActorName } from '../../runtime/names.ts';
import type { KarnCatalogReader } from '../karn/index.ts';
import type { TrainingSurface } from '../../surface/index.ts';
import type { KernelSource } from './kernel-source.ts';
import { blendingSchedule } from './alpha-schedule.ts';
import { createSeedLifecycle, EMBARGO_STAGES, stageName, TRIAL_STAGES } from './lifecycle.ts';
import { SEED_SPEC, seedLogic, slotDepth, type SeedMessage } from './seed-actor.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice, type GaveUp } from '../../supervision/dynamic-children.ts';
import type { KasminaSettings } from './settings.ts';

const { CommandType, HealthStatus, SeedLifecycleStage, SeedOperation, TelemetryLevel } = leyline;

export type KasminaMessage = v1.AdaptationCommand | v1.SeedStepReport | v1.SeedCheckpointRequest | v1.SeedRestore | DynamicNotice;

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

export interface ManagerState {
  seeds: Map<string, ActorRef<SeedMessage>>;
  /** The slot of each seed (a culled seed's slot stays embargoed until the seed is DORMANT again). */
  slots: Map<string, string>;
  board: Map<string, v1.SeedState>;
  rejected: number;
  children: DynamicChildren;
}

/** Tolaria's no-op at a control boundary (control-hook.ts): it changes nothing, so it needs no signature. */
/** How long a seed may take over one step report or command before the manager stops waiting for it. */
const STEP_REPORT_DEADLINE_MS = 5_000;

const isBoundaryNoOp = (command: v1.AdaptationCommand): boolean =>
  command.commandType === CommandType.COMMAND_UNKNOWN &&
  (command.annotations?.mode === 'conservative' || command.annotations?.mode === 'no_decision') &&
  !command.seedOperation;

/** Stages in which a seed holds its slot for good or for its trial: no other seed may be grafted there. */
const HOLDING: ReadonlySet<number> = new Set([...TRIAL_STAGES, SeedLifecycleStage.SEED_STAGE_FOSSILIZED]);
/** A seed culled (for cause) is out of the host for good: a rollback neither brings it back nor lifts its embargo. */
const CULLED_FOR_GOOD: ReadonlySet<number> = new Set([...EMBARGO_STAGES, SeedLifecycleStage.SEED_STAGE_DORMANT, SeedLifecycleStage.SEED_STAGE_TERMINATED]);

const SEED_RESTART_TIMER = 'seed-restart:';

export function kasminaLogic(deps: KasminaDeps): ActorLogic<ManagerState, KasminaMessage> {
  const seedSpec = validateDynamicSpec(deps.seedSpec ?? SEED_SPEC, 'kasmina.seedSpec');
  const lifecycles = new Map<string, ReturnType<typeof createSeedLifecycle>>();
  /** A GERMINATE may name its blending method (annotation `blending_method`); the configured schedule otherwise. */
  function lifecycleFor(method: string | undefined): ReturnType<typeof createSeedLifecycle> {
    const blending = blendingSchedule(deps.settings.timings.blending, method);
    const key = JSON.stringify(blending);
    let lifecycle = lifecycles.get(key);
    if (!lifecycle) lifecycles.set(key, (lifecycle = createSeedLifecycle({ ...deps.settings.timings, blending })));
    return lifecycle;
  }
  // Open after 3 isolation violations (any seeds), for 30 s; 2 clean measurements close it again. While it is
  // open no new seed is grafted: the seeds already in place keep being measured and culled on violation.
  const isolationBreaker = new CircuitBreaker('kasmina.isolation', { failureThreshold: 3, timeoutMs: 30_000, successThreshold: 2 });
  let boundaries = 0;

  const receipt = (state: ManagerState, command: v1.AdaptationCommand, applied: boolean, reason = ''): v1.AdaptationReceipt =>
    leyline.AdaptationReceipt.create({ commandId: command.commandId, applied, reason, seedStates: [...state.board.values()] });

  function reject(ctx: ActorContext<KasminaMessage>, state: ManagerState, command: v1.AdaptationCommand, reason: string): ManagerState {
    ctx.log.warn('command rejected', { command: command.commandId, reason });
    if (deps.telemetry) {
      ctx.dispatch(
        deps.telemetry,
        buildTelemetryPacket({
          packetId: `kasmina-rejected-${command.commandId || randomUUID()}`,
          source: 'kasmina',
          level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          metrics: [{ name: 'kasmina.commands.rejected_total', value: state.rejected + 1 }],
          events: [{ description: 'command_rejected', level: TelemetryLevel.TELEMETRY_LEVEL_WARNING, attributes: { command_id: command.commandId, reason } }],
        }),
      );
    }
    ctx.reply(receipt(state, command, false, reason));
    return { ...state, rejected: state.rejected + 1 };
  }

  /** One packet per seed and one global packet at each control boundary (docs/seed-lifecycle.md). */
  function reportBoundary(ctx: ActorContext<KasminaMessage>, state: ManagerState): void {
    if (!deps.telemetry) return;
    boundaries += 1;
    let liveViolations = 0;
    for (const seed of state.board.values()) {
      const m = seed.metrics ?? {};
      const violations = m.isolation_violations ?? 0;
      liveViolations += violations;
      const fallback = (m.fallback_used ?? 0) > 0;
      const slow = (m.kernel_latency_ms ?? 0) > deps.settings.latencyBudgetMs;
      const attributes: Record<string, string> = { seed_id: seed.seedId, slot: state.slots.get(seed.seedId) ?? '' };
      ctx.dispatch(
        deps.telemetry,
        buildTelemetryPacket({
          packetId: `kasmina-seed-${seed.seedId}-${boundaries}`,
          source: 'kasmina',
          level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
          metrics: [
            { name: 'kasmina.seed.stage', value: seed.stage, attributes },
            { name: 'kasmina.seed.alpha', value: m.alpha ?? 0, attributes },
            { name: 'kasmina.seed.kernel_latency_ms', value: m.kernel_latency_ms ?? 0, unit: 'ms', attributes },
            { name: 'kasmina.seed.isolation_violations', value: violations, attributes },
            { name: 'kasmina.seed.fallback_used', value: fallback ? 1 : 0, attributes },
            { name: 'kasmina.seed.gradient_norm', value: seed.gradientNorm, attributes },
            { name: 'kasmina.seed.isolation_ms', value: m.isolation_ms ?? 0, unit: 'ms', attributes },
          ],
          events: [{ description: 'seed_stage', attributes: { seed_id: seed.seedId, stage: stageName(seed.stage), alpha: (m.alpha ?? 0).toFixed(4) } }],
          healthStatus: violations > 0 ? HealthStatus.HEALTH_STATUS_UNHEALTHY : fallback || slow ? HealthStatus.HEALTH_STATUS_DEGRADED : HealthStatus.HEALTH_STATUS_HEALTHY,
          healthSummary: violations > 0 ? 'violations' : fallback ? 'fallback' : slow ? 'latency_high' : 'nominal',
          healthIndicators: { seed_id: seed.seedId },
        }),
      );
    }
    ctx.dispatch(
      deps.telemetry,
      buildTelemetryPacket({
        packetId: `kasmina-global-${boundaries}`,
        source: 'kasmina',
        level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics: [
          { name: 'kasmina.seeds.active', value: state.board.size },
          { name: 'kasmina.isolation.violations', value: liveViolations },
          { name: 'kasmina.breaker.state', value: deps.kernels.breaker.state },
          { name: 'kasmina.isolation_breaker.state', value: isolationBreaker.state },
          { name: 'kasmina.commands.rejected_total', value: state.rejected },
          { name: 'kasmina.kernels.fallbacks_total', value: deps.kernels.counters.fallbacks + deps.kernels.counters.identities },
        ],
        healthStatus: liveViolations > 0 ? HealthStatus.HEALTH_STATUS_UNHEALTHY : HealthStatus.HEALTH_STATUS_HEALTHY,
        healthSummary: liveViolations > 0 ? 'violations' : 'nominal',
        healthIndicators: { seeds: String(state.board.size) },
      }),
    );
  }

  /** COMMAND_EMERGENCY: every seed still on trial (GERMINATED…PROBATIONARY) is culled; fossilized ones stay. */
  function emergencyCleanup(ctx: ActorContext<KasminaMessage>, state: ManagerState, command: v1.AdaptationCommand): ManagerState {
    const onTrial = [...state.seeds].filter(([seedId]) => TRIAL_STAGES.has(state.board.get(seedId)?.stage ?? 0));
    for (const [seedId, ref] of onTrial) {
      ctx.dispatch(
        ref,
        leyline.AdaptationCommand.create({
          version: 1,
          commandId: `${command.commandId}-${seedId}`,
          commandType: CommandType.COMMAND_SEED,
          targetSeedId: seedId,
          seedOperation: leyline.CommandSeedOperation.create({ operation: SeedOperation.SEED_OP_CULL }),
        }),
      );
    }
    if (deps.telemetry) {
      ctx.dispatch(
        deps.telemetry,
        buildTelemetryPacket({
          packetId: `kasmina-emergency-${command.commandId}`,
          source: 'kasmina',
          level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
          metrics: [{ name: 'kasmina.emergency.seeds_culled', value: onTrial.length }],
          events: [
            {
              description: 'emergency_cleanup',
              level: TelemetryLevel.TELEMETRY_LEVEL_CRITICAL,
              attributes: { command_id: command.commandId, culled: onTrial.map(([id]) => id).join(','), kept: String(state.seeds.size - onTrial.length) },
            },
          ],
        }),
      );
    }
    ctx.reply(receipt(state, command, true, `culled ${onTrial.length}`));
    return state;
  }

  function spawnSeed(ctx: ActorContext<KasminaMessage>, state: ManagerState, seedId: string, slotId: string, blendingMethod: string | undefined, restore?: v1.SeedRecord): ActorRef<SeedMessage> {
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
        board: state.board,
        isolationBreaker,
        telemetry: deps.telemetry,
      }),
    );
    state.seeds.set(seedId, ref);
    return ref;
  }

  /** A seed's crash and what came of it, as Kasmina's telemetry: restarted from its last state, or culled. */
  function seedSupervision(ctx: ActorContext<KasminaMessage>, event: 'seed_restarted' | 'seed_culled', attributes: Record<string, string>): void {
    if (event === 'seed_culled') ctx.log.error('seed culled: it crashed past its restarts', attributes);
    if (!deps.telemetry) return;
    const level = event === 'seed_culled' ? TelemetryLevel.TELEMETRY_LEVEL_ERROR : TelemetryLevel.TELEMETRY_LEVEL_WARNING;
    ctx.dispatch(
      deps.telemetry,
      buildTelemetryPacket({
        packetId: `kasmina-${event}-${attributes.seed_id}-${randomUUID()}`,
        source: 'kasmina',
        level,
        metrics: [],
        events: [{ description: event, level, attributes }],
      }),
    );
  }

  /** The seed whose actor is named `name`. */
  function seedOf(seeds: ManagerState['seeds'], name: string): string {
    for (const [seedId, ref] of seeds) if (ref.path.endsWith(`/${name}`)) return seedId;
    return name;
  }

  /** A seed given up on (it crashed past its restarts) is out of the host: culled, with the reason. */
  function culled(ctx: ActorContext<KasminaMessage>, state: ManagerState, gaveUp: GaveUp): void {
    const seedId = seedOf(state.seeds, gaveUp.name);
    seedSupervision(ctx, 'seed_culled', { seed_id: seedId, slot: state.slots.get(seedId) ?? '', reason: `crashed (restarted ${gaveUp.restarts} times): ${gaveUp.error}` });
    // Its stop hook took its graft out of the forward pass (a fossilized module stays: it is the host's).
    state.seeds.delete(seedId);
    state.slots.delete(seedId);
    state.board.delete(seedId);
  }

  /**
   * Gives a verified command to its seed and answers once the seed has acted on it: the trainer waits for the
   * receipt before its next step, so a graft enters (or leaves) the forward pass at the same step in every run.
   */
  async function handOver(ctx: ActorContext<KasminaMessage>, state: ManagerState, seed: ActorRef<SeedMessage>, command: v1.AdaptationCommand): Promise<ManagerState> {
    await ctx.deliver(seed, command, STEP_REPORT_DEADLINE_MS).catch((error: unknown) => {
      ctx.log.warn('a seed did not act on its command in time', { command_id: command.commandId, error: (error as Error).message });
    });
    ctx.reply(receipt(state, command, true));
    return state;
  }

  /**
   * Every seed's record, in seed id order (each seed answers once it has handled what came before). A seed down after
   * a crash cannot answer before its restart, which waits in this mailbox: it is left out, as is one that does not
   * answer in time (logged), rather than failing the manager and every seed with it.
   */
  async function records(ctx: ActorContext<KasminaMessage>, state: ManagerState): Promise<v1.SeedRecord[]> {
    const seeds = [...state.seeds].sort(([a], [b]) => a.localeCompare(b)).filter(([, ref]) => !state.children.isDown(ref as ActorRef<never>));
    const answers = await Promise.allSettled(seeds.map(([, ref]) => ctx.ask(ref, leyline.SeedCheckpointRequest.create(), leyline.SeedRecord, STEP_REPORT_DEADLINE_MS)));
    return answers.flatMap((answer, i) => {
      if (answer.status === 'fulfilled') return [answer.value];
      ctx.log.warn('a seed gave no record: it is not kept this time', { seed_id: seeds[i]?.[0], error: (answer.reason as Error).message });
      return [];
    });
  }

  /**
   * Kasmina's seeds become the ones listed, each in its recorded stage: a resumed run's checkpoint (no seed yet), or
   * the snapshot a rollback went back to — a seed that exists takes its record, one germinated since leaves, one gone
   * since comes back; one culled since keeps its fate (the rolled-back steps may be why). Answered with the seeds as
   * restored, once every one has acted.
   */
  async function restore(ctx: ActorContext<KasminaMessage>, state: ManagerState, message: v1.SeedRestore): Promise<ManagerState> {
    const saved = new Map(message.seeds.map((s) => [s.seedId, leyline.SeedRecord.create(s)]));
    const changes: Promise<unknown>[] = [];
    for (const [seedId, ref] of [...state.seeds]) {
      if (CULLED_FOR_GOOD.has(state.board.get(seedId)?.stage ?? 0)) {
        saved.delete(seedId);
        continue;
      }
      const record = saved.get(seedId);
      changes.push(ctx.deliver(ref, leyline.SeedRestore.create({ trainingRunId: message.trainingRunId, seeds: record ? [record] : [] }), STEP_REPORT_DEADLINE_MS));
      if (!record) {
        state.seeds.delete(seedId);
        state.slots.delete(seedId);
        state.board.delete(seedId);
      }
    }
    await Promise.allSettled(changes);
    for (const record of saved.values()) {
      if (state.seeds.has(record.seedId)) continue;
      state.slots.set(record.seedId, record.slotId);
      spawnSeed(ctx, state, record.seedId, record.slotId, record.blendingMethod || undefined, record);
    }
    ctx.reply(leyline.SeedCheckpoint.create({ seeds: await records(ctx, state), states: [...state.board.values()] }));
    return state;
  }

  return {
    kind: 'kasmina-manager',
    accepts: [leyline.AdaptationCommand, leyline.SeedStepReport, leyline.SeedCheckpointRequest, leyline.SeedRestore],
    start(ctx) {
      const seeds = new Map<string, ActorRef<SeedMessage>>();
      const children = new DynamicChildren(deps.system, seedSpec, SEED_RESTART_TIMER, (name, effect) => {
        if (effect.type === 'restart') seedSupervision(ctx, 'seed_restarted', { seed_id: seedOf(seeds, name) });
      });
      return { seeds, slots: new Map(), board: new Map(), rejected: 0, children };
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.ActorFailed || message instanceof leyline.ActorStarted || message instanceof leyline.TimerFired) {
        const gaveUp = await state.children.handle(ctx, message);
        if (gaveUp) culled(ctx, state, gaveUp);
        return state;
      }
      if (message instanceof leyline.SeedCheckpointRequest) {
        return records(ctx, state).then((seeds) => {
          ctx.reply(leyline.SeedCheckpoint.create({ seeds, states: [...state.board.values()] }));
          return state;
        });
      }
      if (message instanceof leyline.SeedRestore) return restore(ctx, state, message);
      if (message instanceof leyline.Terminated) {
        await state.children.handle(ctx, message);
        for (const [seedId, ref] of state.seeds) {
          if (ref.path === message.path) {
            state.seeds.delete(seedId);
            state.slots.delete(seedId);
            state.board.delete(seedId);
          }
        }
        return state;
      }
      if (message instanceof leyline.SeedStepReport) {
        // Handled once every seed has taken the report in: the trainer waits for that before its next step, so a
        // stage or α changes at the same step in every run (a seed that stopped meanwhile is not waited for).
        // A seed down after a crash misses the reports until it is back (it cannot take them before its restart).
        const deliveries = message.seeds.flatMap((stats) => {
          const ref = state.seeds.get(stats.seedId ?? '');
          return ref && !state.children.isDown(ref as ActorRef<never>) ? [ctx.deliver(ref, message, STEP_REPORT_DEADLINE_MS)] : [];
        });
        return Promise.allSettled(deliveries).then(() => state);
      }
      if (isBoundaryNoOp(message)) {
        ctx.reply(receipt(state, message, true, `${message.annotations?.mode}: nothing to do`));
        reportBoundary(ctx, state);
        return state;
      }
      const verdict = deps.verifier.verify(message);
      if (!verdict.accepted) return reject(ctx, state, message, verdict.reason);
      // Tamiyo's decisions come once per control boundary: report the seeds then too.
      reportBoundary(ctx, state);
      if (message.commandType === CommandType.COMMAND_EMERGENCY) return emergencyCleanup(ctx, state, message);
      if (message.commandType === CommandType.COMMAND_PAUSE) {
        // A PAUSE naming no seed is Tamiyo's hold: a verified decision to change nothing.
        if (!message.targetSeedId) {
          ctx.reply(receipt(state, message, true, 'hold'));
          return state;
        }
        const seed = state.seeds.get(message.targetSeedId);
        if (!seed) return reject(ctx, state, message, `unknown seed ${message.targetSeedId}`);
        return handOver(ctx, state, seed, message);
      }
      if (message.commandType !== CommandType.COMMAND_SEED || !message.seedOperation) {
        // Optimizer, rollback and other decisions are Tolaria's to apply: acknowledged, nothing to do here.
        ctx.reply(receipt(state, message, false, `not a seed command (${leyline.CommandType[message.commandType] ?? String(message.commandType)})`));
        return state;
      }
      const op = message.seedOperation.operation;
      const seedId = message.targetSeedId;
      if (!seedId) return reject(ctx, state, message, 'target_seed_id is empty');
      let ref = state.seeds.get(seedId);
      if (op === SeedOperation.SEED_OP_GERMINATE) {
        const slotId = message.annotations?.slot_id ?? '';
        if (!slotId) return reject(ctx, state, message, 'annotation slot_id is empty');
        if (!isolationBreaker.allow()) return reject(ctx, state, message, 'isolation breaker open: no new grafts until it closes');
        const embargoed = [...state.slots].find(([other, slot]) => slot === slotId && other !== seedId && EMBARGO_STAGES.has(state.board.get(other)?.stage ?? 0));
        if (embargoed) return reject(ctx, state, message, `slot ${slotId} is under embargo (seed ${embargoed[0]} was culled there)`);
        const holder = [...state.slots].find(([other, slot]) => slot === slotId && other !== seedId && HOLDING.has(state.board.get(other)?.stage ?? 0));
        if (holder) return reject(ctx, state, message, `slot ${slotId} holds seed ${holder[0]}`);
        state.slots.set(seedId, slotId);
        if (!ref) {
          ref = spawnSeed(ctx, state, seedId, slotId, message.annotations?.blending_method);
          // On the board at once (the seed actor publishes its own state when it has handled the command), so
          // the receipt — and the next SystemStatePacket — already show the slot taken.
          state.board.set(seedId, leyline.SeedState.create({ seedId, stage: SeedLifecycleStage.SEED_STAGE_GERMINATED, layerDepth: slotDepth(slotId, deps.surface.probe?.host.slots) }));
        }
      } else if (!ref) {
        return reject(ctx, state, message, `unknown seed ${seedId}`);
      }
      return handOver(ctx, state, ref, message);
    },
    inspect: (state) => ({ seeds: String(state.seeds.size), rejected: String(state.rejected), isolation_breaker: leyline.CircuitBreakerState[isolationBreaker.state] ?? '' }),
  };
}
