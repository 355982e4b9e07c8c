// One actor per seed. It runs the seed's lifecycle logic (lifecycle.ts) and carries out its effects on the shared
// graft table: germinate (G0) → kernel from the KernelSource → attach (G3) → stages advanced by Tolaria's step
// reports (G1 every step, isolation measured on a sample of reports, G2 and G4 measured when a stage's steps are
// done) → FOSSILIZED, or cull → embargo (a timer) → reset (G5) → DORMANT. Its SeedState is published to the
// manager's board after every change.
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput } from '../../contracts/telemetry.ts';
import type { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import { trainableParameters, type KarnCatalogReader } from '../karn/index.ts';
import { GraftTable, type TrainingSurface } from '../../surface/index.ts';
import { gateGradientHealth, gateInterface, gateReset, gateSanity, gateStability, gateSystemImpact, type GateResult } from './gates.ts';
import { measureIsolation } from './isolation.ts';
import type { KernelSource, ProvidedKernel } from './kernel-source.ts';
import { ACTIVE_STAGES, gateName, stageName, type SeedData, type SeedEffect, type SeedEvent, type SeedLifecycle } from './lifecycle.ts';
import type { KasminaSettings } from './settings.ts';
import { captureVariables, restoreVariables, type TensorMap } from '../tolaria/index.ts';
import type { DynamicChildSpec } from '../../supervision/child-spec.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedLifecycleGate: Gate, SeedOperation, TelemetryLevel } = leyline;

export type SeedMessage = v1.AdaptationCommand | v1.SeedStepReport | v1.TimerFired | v1.SeedCheckpointRequest | v1.SeedRestore;

export interface SeedDeps {
  seedId: string;
  slotId: string;
  lifecycle: SeedLifecycle;
  settings: KasminaSettings;
  kernels: KernelSource;
  catalog: KarnCatalogReader;
  surface: TrainingSurface;
  /** The manager's board of seed states (read for AdaptationReceipts). */
  board: Map<string, v1.SeedState>;
  /** Shared by every seed: isolation failures and clean measurements feed it; the manager reads it. */
  isolationBreaker: CircuitBreaker;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  /** The α schedule's kind this seed was germinated with (default: the configured one): its record keeps it. */
  blendingMethod?: string;
  /** Start as this record says (a run resumed from a checkpoint) instead of DORMANT. */
  restore?: v1.SeedRecord;
  now?: () => number;
}

export interface SeedActorState {
  data: SeedData;
  kernel: ProvidedKernel | null;
  /** Task losses seen while TRAINING (G2 judges their trend). */
  losses: number[];
  isolationViolations: number;
  reports: number;
  lastGradNorm: number;
  germinatedAt: number;
  /** The training epoch at germination (SeedState.age_epochs counts from it). */
  germinatedEpoch: number;
  /** Out of the forward pass by a PAUSE command (module and stage kept). */
  paused: boolean;
  /** What the last isolation measurement cost (its overhead, reported per seed). */
  isolationMs: number;
}

const EMBARGO_TIMER = 'embargo';

/**
 * How the manager supervises its seed actors (supervision/dynamic-children.ts). A seed that crashes is restarted
 * from its last state (its record, its module's weights) after a short backoff — training waits on it at the next
 * step fence; past two restarts a minute (or the same error 3 times in a row) it is stopped and culled, the reason in
 * Kasmina's `seed_culled` event. Transient: a seed that leaves the host (a rollback) ends normally.
 */
export const SEED_SPEC: DynamicChildSpec = {
  restart: leyline.RestartPolicy.RESTART_POLICY_TRANSIENT,
  intensity: 2,
  periodMs: 60_000,
  maxRepeats: 3,
  backoff: { baseMs: 50, maxMs: 1_000, jitter: 0.25, stableMs: 60_000 },
  giveUp: leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP,
  shutdownMs: 2_000,
};

/** What a restarted seed starts from: the seed as its last incarnation ended (set by its stop hook). */
interface Carried {
  state: SeedActorState;
  record: v1.SeedRecord;
  /** The module's weights when it was not kept (a fossilized seed's module stays in the host, weights and all). */
  weights: TensorMap | null;
}

/**
 * A slot's 1-based position in the host's forward order (Tamiyo maps a seed back to its slot by it): its index among
 * the running host's slots ("conv.0", "dense.0" → 1, 2), else its id's last number ("mlp.1" → 2); 0 when neither.
 */
export function slotDepth(slotId: string, slots: readonly { id: string }[] = []): number {
  const index = slots.findIndex((slot) => slot.id === slotId);
  return index >= 0 ? index + 1 : Number(/\.(\d+)$/.exec(slotId)?.[1] ?? -1) + 1;
}

export function seedLogic(deps: SeedDeps): ActorLogic<SeedActorState, SeedMessage> {
  const { seedId, lifecycle, settings, surface } = deps;
  const now = deps.now ?? Date.now;
  let carried: Carried | null = null;

  // The slot's position in the host (1-based) and the blueprint's risk: fixed facts of this seed.
  const layerDepth = slotDepth(deps.slotId, surface.probe?.host.slots);

  function publish(state: SeedActorState): void {
    const descriptor = state.data.blueprintId ? deps.catalog.get(state.data.blueprintId) : undefined;
    const grafted = state.kernel !== null;
    deps.board.set(
      seedId,
      leyline.SeedState.create({
        seedId,
        stage: state.data.stage,
        gradientNorm: state.lastGradNorm,
        learningRate: grafted && !state.paused ? (surface.probe?.learningRate ?? 0) : 0,
        layerDepth,
        riskScore: descriptor?.risk ?? 0,
        metrics: {
          alpha: state.data.alpha,
          steps_in_stage: state.data.stageSteps,
          isolation_violations: state.isolationViolations,
          kernel_latency_ms: state.kernel?.latencyMs ?? 0,
          fallback_used: state.kernel && state.kernel.origin !== 'urza' ? 1 : 0,
          paused: state.paused ? 1 : 0,
          isolation_ms: state.isolationMs,
          // What the seed adds to the host (Simic's reward charges for it).
          parameters: state.kernel ? trainableParameters(state.kernel.module) : 0,
        },
        ageEpochs: grafted ? Math.max(0, (surface.probe?.epoch ?? 0) - state.germinatedEpoch) : 0,
      }),
    );
  }

  function report(ctx: ActorContext<SeedMessage>, state: SeedActorState, effects: readonly SeedEffect[]): void {
    const events: EventInput[] = [];
    for (const effect of effects) {
      if (effect.kind === 'transition') {
        events.push({ description: 'seed_stage_changed', attributes: { seed_id: seedId, from: stageName(effect.from), to: stageName(effect.to) } });
      } else if (effect.kind === 'gate') {
        const r = effect.result;
        events.push({
          description: r.passed ? 'gate_event' : 'gate_failure',
          level: r.passed ? TelemetryLevel.TELEMETRY_LEVEL_INFO : TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          attributes: { seed_id: seedId, gate: gateName(r.gate), passed: String(r.passed), reason: r.reason, ...r.attributes },
        });
      } else if (effect.kind === 'detach') {
        events.push({
          description: 'rollback_ready',
          level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          attributes: { seed_id: seedId, reason: state.data.lastFailure ?? '', slot: deps.slotId },
        });
      } else if (effect.kind === 'illegal_transition' || effect.kind === 'rejected') {
        events.push({
          description: effect.kind,
          level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          attributes: effect.kind === 'rejected' ? { seed_id: seedId, reason: effect.reason } : { seed_id: seedId, from: stageName(effect.from), requested: stageName(effect.requested) },
        });
      }
    }
    if (events.length === 0 || !deps.telemetry) return;
    ctx.dispatch(
      deps.telemetry,
      buildTelemetryPacket({
        packetId: `kasmina-${seedId}-${now()}-${state.reports}`,
        source: 'kasmina',
        level: Math.max(...events.map((e) => e.level ?? TelemetryLevel.TELEMETRY_LEVEL_INFO)) as v1.TelemetryLevel,
        metrics: [
          { name: 'kasmina.seed.stage', value: state.data.stage, attributes: { seed_id: seedId } },
          { name: 'kasmina.seed.alpha', value: state.data.alpha, attributes: { seed_id: seedId } },
        ],
        events,
      }),
    );
  }

  /** Feeds one event to the logic and carries out its effects, including gates that fall due. */
  function apply(ctx: ActorContext<SeedMessage>, state: SeedActorState, event: SeedEvent): SeedActorState {
    const { state: data, effects } = lifecycle.transition(state.data, event, now());
    let next: SeedActorState = { ...state, data };
    report(ctx, next, effects);
    for (const effect of effects) {
      if (effect.kind === 'detach') surface.grafts.detach(seedId);
      if (effect.kind === 'release') next = release(next);
      if (effect.kind === 'gate_due') next = apply(ctx, next, { type: 'advance', result: closingGate(next, effect.gate) });
    }
    if (effects.some((e) => e.kind === 'transition')) {
      const stage = next.data.stage;
      if (stage === Stage.SEED_STAGE_EMBARGOED && next.data.embargoUntil !== null) ctx.after(EMBARGO_TIMER, Math.max(1, next.data.embargoUntil - now()));
      if (stage === Stage.SEED_STAGE_RESETTING) {
        const g5 = gateReset({ detached: !surface.grafts.bySeed(seedId), tensorsReleased: next.kernel === null, registryReleased: true });
        next = apply(ctx, next, { type: 'reset', g5 });
      }
      if (surface.grafts.bySeed(seedId)) surface.grafts.update(seedId, { stage: next.data.stage, alpha: next.data.alpha });
    } else if (surface.grafts.bySeed(seedId) && next.data.alpha !== state.data.alpha) {
      surface.grafts.update(seedId, { alpha: next.data.alpha });
    }
    publish(next);
    return next;
  }

  function release(state: SeedActorState): SeedActorState {
    surface.grafts.detach(seedId);
    state.kernel?.module.dispose();
    return { ...state, kernel: null, losses: [], isolationViolations: 0 };
  }

  function closingGate(state: SeedActorState, gate: v1.SeedLifecycleGate): GateResult {
    if (gate === Gate.SEED_GATE_G2_STABILITY) {
      return gateStability({ kernelLatencyMs: state.kernel?.latencyMs ?? 0, latencyBudgetMs: settings.latencyBudgetMs, seedLosses: state.losses });
    }
    const probe = surface.probe;
    if (!probe) return { gate, passed: false, reason: 'no training run to measure against', attributes: {} };
    const without = new GraftTable();
    for (const graft of surface.grafts.all()) if (graft.seedId !== seedId) without.attach(graft);
    return gateSystemImpact({ withSeed: probe.probeLoss(surface.grafts), withoutSeed: probe.probeLoss(without), tolerance: settings.impactTolerance });
  }

  function germinate(ctx: ActorContext<SeedMessage>, state: SeedActorState, command: v1.AdaptationCommand): SeedActorState {
    const blueprintId = command.seedOperation?.blueprintId ?? '';
    const parameters = { ...command.seedOperation?.parameters };
    let next = apply(ctx, state, { type: 'germinate', blueprintId, g0: gateSanity(deps.catalog, blueprintId, parameters) });
    if (next.data.stage !== Stage.SEED_STAGE_GERMINATED) return next;
    const slot = surface.probe?.host.slots.find((s) => s.id === deps.slotId);
    if (!slot) {
      const g3: GateResult = { gate: Gate.SEED_GATE_G3_INTERFACE, passed: false, reason: surface.probe ? `the host has no slot ${deps.slotId}` : 'no training run to graft into', attributes: {} };
      return apply(ctx, next, { type: 'attach', g3 });
    }
    const kernel = deps.kernels.provide(blueprintId, slot);
    if (deps.telemetry) {
      // The fetch against its budget, once per fetch: an SLO sample for Nissa's burn rate.
      ctx.dispatch(
        deps.telemetry,
        buildTelemetryPacket({
          packetId: `kasmina-${seedId}-kernel-${now()}`,
          source: 'kasmina',
          level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
          metrics: [
            { name: 'slo.kernel_fetch_latency_actual', value: kernel.latencyMs, unit: 'ms', attributes: { seed_id: seedId, slot: deps.slotId } },
            { name: 'slo.kernel_fetch_latency_objective', value: settings.latencyBudgetMs, unit: 'ms' },
          ],
        }),
      );
    }
    next = { ...next, kernel, germinatedAt: now(), germinatedEpoch: surface.probe?.epoch ?? 0 };
    next = apply(ctx, next, { type: 'attach', g3: gateInterface(slot.dims, kernel.module.slot.dims) });
    if (next.data.stage === Stage.SEED_STAGE_TRAINING) {
      surface.grafts.attach({ seedId, slotId: deps.slotId, module: kernel.module, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
    } else {
      next = release(next);
    }
    return next;
  }

  /**
   * PAUSE takes the module out of the forward pass without changing the stage (its steps stop counting); resume puts
   * it back as it was. Only a grafted seed (an active stage, or FOSSILIZED) can pause.
   */
  function pause(ctx: ActorContext<SeedMessage>, state: SeedActorState, resume: boolean): SeedActorState {
    const grafted = state.kernel !== null && (ACTIVE_STAGES.has(state.data.stage) || state.data.stage === Stage.SEED_STAGE_FOSSILIZED);
    const refused = !grafted ? `cannot ${resume ? 'resume' : 'pause'} a seed in ${stageName(state.data.stage)}` : state.paused !== resume ? `already ${resume ? 'running' : 'paused'}` : null;
    if (refused === null) {
      if (resume) surface.grafts.attach({ seedId, slotId: deps.slotId, module: state.kernel!.module, stage: state.data.stage, alpha: state.data.alpha });
      else surface.grafts.detach(seedId);
    }
    const next = refused === null ? { ...state, paused: !resume } : state;
    if (deps.telemetry) {
      const level = refused === null && resume ? TelemetryLevel.TELEMETRY_LEVEL_INFO : TelemetryLevel.TELEMETRY_LEVEL_WARNING;
      ctx.dispatch(
        deps.telemetry,
        buildTelemetryPacket({
          packetId: `kasmina-${seedId}-${resume ? 'resume' : 'pause'}-${now()}`,
          source: 'kasmina',
          level,
          metrics: [{ name: 'kasmina.seed.paused', value: next.paused ? 1 : 0, attributes: { seed_id: seedId } }],
          events: [
            refused === null
              ? { description: resume ? 'seed_resumed' : 'seed_paused', level, attributes: { seed_id: seedId, stage: stageName(state.data.stage) } }
              : { description: 'rejected', level, attributes: { seed_id: seedId, reason: refused } },
          ],
        }),
      );
    }
    publish(next);
    return next;
  }

  function onSteps(ctx: ActorContext<SeedMessage>, state: SeedActorState, stats: v1.SeedStepStats): SeedActorState {
    // A FOSSILIZED seed is part of the host (gradient through it is intended): nothing left to judge.
    if (!ACTIVE_STAGES.has(state.data.stage) || state.paused) return { ...state, lastGradNorm: stats.gradNormMax };
    let next: SeedActorState = { ...state, reports: state.reports + 1, lastGradNorm: stats.gradNormMax };
    if (next.data.stage === Stage.SEED_STAGE_TRAINING) next.losses = [...next.losses, stats.lossMean];
    const probe = surface.probe;
    if (probe && settings.isolationEvery > 0 && next.reports % settings.isolationEvery === 0 && surface.grafts.bySeed(seedId)) {
      const batch = probe.probeBatch();
      try {
        const measured = measureIsolation({ host: probe.host, grafts: surface.grafts, seedId, batch });
        next.isolationMs = measured.ms;
        if (measured.violated) {
          next.isolationViolations += 1;
          deps.isolationBreaker.recordFailure();
        } else {
          deps.isolationBreaker.recordSuccess();
        }
      } finally {
        batch.x.dispose();
        batch.y.dispose();
      }
    }
    const g1: GateResult = stats.error
      ? { gate: Gate.SEED_GATE_G1_GRADIENT_HEALTH, passed: false, reason: `the module threw in the forward pass: ${stats.error}`, attributes: {} }
      : gateGradientHealth({ seedGradNorm: stats.nonFiniteSteps > 0 ? Number.NaN : stats.gradNormMax, isolationViolations: next.isolationViolations }, settings.maxGradNorm);
    for (let i = 0; i < stats.steps; i++) {
      const before = next.data.stage;
      next = apply(ctx, next, { type: 'step', g1 });
      // A stage change (or a cull) ends this report: the remaining steps belonged to the old stage.
      if (next.data.stage !== before) break;
    }
    return next;
  }

  /** The seed as a checkpoint keeps it (its module's weights are in the graft table: Tolaria keeps those). */
  function record(state: SeedActorState): v1.SeedRecord {
    const { data } = state;
    return leyline.SeedRecord.create({
      seedId,
      slotId: deps.slotId,
      blueprintId: data.blueprintId,
      kernelDigest: state.kernel?.digest ?? '',
      stage: data.stage,
      stageSteps: data.stageSteps,
      alpha: data.alpha,
      alphaSteps: data.alphaSteps,
      lastFailure: data.lastFailure ?? '',
      blendingMethod: deps.blendingMethod ?? '',
      paused: state.paused,
      germinatedEpoch: state.germinatedEpoch,
      isolationViolations: state.isolationViolations,
      reports: state.reports,
      losses: state.losses,
      lastGradNorm: state.lastGradNorm,
      parameters: state.kernel ? trainableParameters(state.kernel.module) : 0,
      gates: Object.values(data.gates).map((g) => leyline.SeedGateRecord.create({ gate: g.gate, passed: g.passed, reason: g.reason })),
    });
  }

  /**
   * Back in the recorded stage (a resumed run, or a rollback to a snapshot): a grafted stage keeps the kernel this
   * seed holds, else gets it from Urza again (the same blueprint for the same slot shape, the digest recorded) and its
   * graft; a culled seed's embargo starts afresh. The module's weights are Tolaria's to restore.
   */
  function adopt(ctx: ActorContext<SeedMessage>, current: SeedActorState | null, saved: v1.SeedRecord): SeedActorState {
    const gates: SeedData['gates'] = {};
    for (const g of saved.gates.map((gate) => leyline.SeedGateRecord.create(gate))) gates[g.gate] = { gate: g.gate, passed: g.passed, reason: g.reason, attributes: {} };
    const data: SeedData = {
      ...lifecycle.initialState(seedId, deps.slotId),
      blueprintId: saved.blueprintId,
      stage: saved.stage,
      stageSteps: saved.stageSteps,
      alpha: saved.alpha,
      alphaSteps: saved.alphaSteps,
      lastFailure: saved.lastFailure || null,
      embargoUntil: saved.stage === Stage.SEED_STAGE_EMBARGOED ? now() + settings.timings.embargoMs : null,
      gates,
    };
    const germinatedAt = current?.germinatedAt ?? now();
    let state: SeedActorState = { data, kernel: null, losses: [...saved.losses], isolationViolations: saved.isolationViolations, reports: saved.reports, lastGradNorm: saved.lastGradNorm, germinatedAt, germinatedEpoch: saved.germinatedEpoch, paused: saved.paused, isolationMs: 0 };
    const grafted = ACTIVE_STAGES.has(saved.stage) || saved.stage === Stage.SEED_STAGE_FOSSILIZED;
    const held = current?.kernel ?? null;
    if (held && (!grafted || held.blueprintId !== saved.blueprintId)) {
      surface.grafts.detach(seedId);
      held.module.dispose();
    } else if (held) {
      state = { ...state, kernel: held };
    }
    const slot = surface.probe?.host.slots.find((s) => s.id === deps.slotId);
    if (grafted && !state.kernel && slot) {
      const kernel = deps.kernels.provide(saved.blueprintId, slot);
      if (kernel.origin !== 'urza' || (saved.kernelDigest && kernel.digest !== saved.kernelDigest)) {
        kernel.module.dispose();
        const why = kernel.origin !== 'urza' ? `kernel ${saved.blueprintId} unavailable (${kernel.reason})` : `kernel ${saved.blueprintId} changed since the checkpoint (digest ${kernel.digest.slice(0, 12)}, recorded ${saved.kernelDigest.slice(0, 12)})`;
        return apply(ctx, state, { type: 'cull', reason: `not restored: ${why}`, now: now() });
      }
      state = { ...state, kernel };
    }
    if (state.kernel) {
      if (saved.paused) surface.grafts.detach(seedId);
      else if (surface.grafts.bySeed(seedId)) surface.grafts.update(seedId, { stage: saved.stage, alpha: saved.alpha });
      else surface.grafts.attach({ seedId, slotId: deps.slotId, module: state.kernel.module, stage: saved.stage, alpha: saved.alpha });
    }
    if (data.embargoUntil !== null) ctx.after(EMBARGO_TIMER, Math.max(1, data.embargoUntil - now()));
    publish(state);
    return state;
  }

  /**
   * A restart after a crash: back in the stage its last incarnation ended in, as a resumed run's seed comes back
   * (`adopt`: its kernel from Urza, the recorded digest checked, else culled with the reason), with its module's
   * weights as they were.
   */
  function restart(ctx: ActorContext<SeedMessage>, from: Carried): SeedActorState {
    let state: SeedActorState;
    try {
      state = adopt(ctx, from.state, from.record);
      if (from.weights && state.kernel) restoreVariables(state.kernel.module.variables, from.weights);
    } catch (error) {
      // A start that fails part-way runs no stop hook: the module it grafted must not stay in the host.
      const stray = surface.grafts.bySeed(seedId);
      if (stray && stray.module !== from.state.kernel?.module) {
        surface.grafts.detach(seedId);
        stray.module.dispose();
      }
      throw error;
    }
    // Kept until a start succeeds: a start that fails is tried again from the same state.
    carried = null;
    ctx.log.warn('seed restarted from its last state', { seed_id: seedId, stage: stageName(state.data.stage), alpha: state.data.alpha });
    return state;
  }

  /** Not in the state restored (germinated after the snapshot a rollback went back to): out of the host, and gone. */
  function leave(ctx: ActorContext<SeedMessage>, state: SeedActorState): SeedActorState {
    surface.grafts.detach(seedId);
    state.kernel?.module.dispose();
    ctx.stopSelf();
    return { ...state, kernel: null, paused: false, data: { ...state.data, stage: Stage.SEED_STAGE_TERMINATED } };
  }

  return {
    kind: 'seed',
    accepts: [leyline.AdaptationCommand, leyline.SeedStepReport, leyline.TimerFired, leyline.SeedCheckpointRequest, leyline.SeedRestore],
    start(ctx) {
      if (ctx.incarnation > 1 && carried) return restart(ctx, carried);
      if (deps.restore) return adopt(ctx, null, deps.restore);
      const state: SeedActorState = { data: lifecycle.initialState(seedId, deps.slotId), kernel: null, losses: [], isolationViolations: 0, reports: 0, lastGradNorm: 0, germinatedAt: 0, germinatedEpoch: 0, paused: false, isolationMs: 0 };
      publish(state);
      return state;
    },
    receive(state, message, ctx) {
      if (message instanceof leyline.SeedCheckpointRequest) {
        ctx.reply(record(state));
        return state;
      }
      if (message instanceof leyline.SeedRestore) {
        const saved = message.seeds[0];
        return saved ? adopt(ctx, state, leyline.SeedRecord.create(saved)) : leave(ctx, state);
      }
      if (message instanceof leyline.TimerFired) {
        if (message.timerId !== EMBARGO_TIMER) return state;
        const next = apply(ctx, state, { type: 'tick', now: now() });
        // A timer may fire a little before the wall clock says the embargo is over: wait for the rest.
        if (next.data.stage === Stage.SEED_STAGE_EMBARGOED && next.data.embargoUntil !== null) ctx.after(EMBARGO_TIMER, Math.max(1, next.data.embargoUntil - now()));
        return next;
      }
      if (message instanceof leyline.SeedStepReport) {
        const mine = message.seeds.find((s) => s.seedId === seedId);
        return mine && (mine.steps ?? 0) > 0 ? onSteps(ctx, state, leyline.SeedStepStats.create(mine)) : state;
      }
      if (message.commandType === CommandType.COMMAND_PAUSE) return pause(ctx, state, message.annotations?.action === 'resume');
      switch (message.seedOperation?.operation) {
        case SeedOperation.SEED_OP_GERMINATE:
          return germinate(ctx, state, message);
        case SeedOperation.SEED_OP_CULL:
        case SeedOperation.SEED_OP_CANCEL:
          return apply(ctx, state, { type: 'cull', reason: `culled by command ${message.commandId}`, now: now() });
        case SeedOperation.SEED_OP_FOSSILIZE:
          return apply(ctx, state, { type: 'fossilize', g4: closingGate(state, Gate.SEED_GATE_G4_SYSTEM_IMPACT) });
        default:
          return state;
      }
    },
    async stop(state) {
      deps.board.delete(seedId);
      // A FOSSILIZED seed belongs to the host now (its weights are in the host's optimizer group): it stays.
      const kept = state.data.stage === Stage.SEED_STAGE_FOSSILIZED && !state.paused;
      // Kept for a restart after a crash (this hook cannot tell a restart from a final stop).
      const weights = state.kernel && !kept ? await captureVariables(state.kernel.module.variables).catch(() => null) : null;
      carried = { state: kept ? state : { ...state, kernel: null }, record: record(state), weights };
      if (kept) return;
      // Any other stopped (or crashed) seed leaves nothing behind in the host.
      surface.grafts.detach(seedId);
      state.kernel?.module.dispose();
    },
    inspect: (state) => ({
      seed_id: seedId,
      stage: stageName(state.data.stage),
      alpha: state.data.alpha.toFixed(4),
      // As last published on the board (the seed's SeedState).
      age_epochs: String(deps.board.get(seedId)?.ageEpochs ?? 0),
      blueprint: state.data.blueprintId,
      slot: deps.slotId,
      kernel: state.kernel ? `${state.kernel.blueprintId} (${state.kernel.origin})` : '',
      last_failure: state.data.lastFailure ?? '',
      paused: String(state.paused),
    }),
  };
}
