// One actor per seed: the wiring around its lifecycle (lifecycle.ts). It feeds the lifecycle events — commands, the
// step reports' training steps, its embargo timer — with the gates measured (gates.ts), and carries out the effects:
// on the training surface (the graft table the forward pass reads; the running run as a probe for G4 and for
// gradient isolation), with the KernelSource (germinate (G0) → kernel → attach (G3)), and as telemetry
// (seed-telemetry.ts). It answers every message its manager hands it with its SeedState (seed-record.ts), and tells
// the manager unasked when its state changes on its own (the embargo timer) and how each isolation measurement
// came out (the manager's isolation breaker counts them).
import { leyline, type v1 } from '../../contracts/index.ts';
import { deserializeModule, serializeModule, type BlueprintModule } from '../../blueprints/index.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { DynamicChildSpec } from '../../supervision/child-spec.ts';
import { GraftTable, type TrainingSurface } from '../../surface/index.ts';
import type { KarnCatalogReader } from '../karn/index.ts';
import {
  gateGradientHealth,
  gateInterface,
  gateReset,
  gateSanity,
  gateStability,
  gateSystemImpact,
  type GateResult,
} from './gates.ts';
import type { KernelSource } from './kernel-source.ts';
import { ACTIVE_STAGES, stageName, type PauseAction, type SeedEvent, type SeedLifecycle } from './lifecycle.ts';
import { seedRecordOf, seedStateOf, stateFromRecord, type SeedActorState } from './seed-record.ts';
import { effectsPacket, kernelFetchPacket, pausePacket } from './seed-telemetry.ts';
import type { KasminaSettings } from './settings.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedLifecycleGate: Gate, SeedOperation } = leyline;

export type { SeedActorState } from './seed-record.ts';

/** What the manager hands a seed (each an ask, answered with the seed's SeedState; a checkpoint request with its SeedCheckpoint), and its own timer. */
export type SeedMessage =
  | v1.AdaptationCommand
  | v1.SeedStepReport
  | v1.TimerFired
  | v1.SeedCheckpointRequest
  | v1.SeedRestore;

/** What a seed tells its manager unasked: its SeedState (changed on its own), an isolation verdict (ISOLATION_VERDICT). */
export type SeedNotice = v1.SeedState | v1.MetricPoint;

/** The MetricPoint a seed sends its manager after each isolation measurement: value 1 for a violation, 0 for clean. */
export const ISOLATION_VERDICT = 'kasmina.seed.isolation_violated';

export interface SeedDeps {
  seedId: string;
  slotId: string;
  lifecycle: SeedLifecycle;
  settings: KasminaSettings;
  kernels: KernelSource;
  catalog: KarnCatalogReader;
  surface: TrainingSurface;
  /** Its manager, told of what the seed does unasked (null: nobody listens). */
  manager: ActorRef<SeedNotice> | null;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  /** The α schedule's kind this seed was germinated with (default: the configured one): its record keeps it. */
  blendingMethod?: string;
  /** Start as this record says (a run resumed from a checkpoint) instead of DORMANT. */
  restore?: v1.SeedRecord;
  now?: () => number;
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
  /** The module serialized, for its weights, when it was not kept (a fossilized seed's module stays in the host). */
  module: Uint8Array | null;
}

/**
 * A slot's 1-based position in the host's forward order (Tamiyo maps a seed back to its slot by it): its index among
 * the running host's slots ("conv.0", "dense.0" → 1, 2), else its id's last number ("mlp.1" → 2); 0 when neither.
 */
export function slotDepth(slotId: string, slots: readonly { id: string }[] = []): number {
  const index = slots.findIndex((slot) => slot.id === slotId);
  return index >= 0 ? index + 1 : Number(/\.(\d+)$/.exec(slotId)?.[1] ?? -1) + 1;
}

/** Gives `module` the weights of `saved`, a serialized module of the same blueprint for the same slot. */
function restoreWeights(module: BlueprintModule, saved: Uint8Array): void {
  const copy = deserializeModule(saved);
  try {
    for (const [name, variable] of module.variables) {
      const value = copy.variables.get(name);
      if (!value) throw new Error(`the saved module has no weight "${name}"`);
      variable.assign(value);
    }
  } finally {
    copy.dispose();
  }
}

export function seedLogic(deps: SeedDeps): ActorLogic<SeedActorState, SeedMessage> {
  const { seedId, slotId, lifecycle, settings, surface } = deps;
  const now = deps.now ?? Date.now;
  const blendingMethod = deps.blendingMethod ?? '';
  // Outlives an incarnation on purpose: a restart after a crash starts from it.
  let carried: Carried | null = null;
  // The slot's position in the host: a fixed fact of this seed.
  const layerDepth = slotDepth(slotId, surface.probe?.host.slots);

  /** The state with its SeedState as of now: after every change. */
  function publish(state: SeedActorState): SeedActorState {
    const risk = state.data.blueprintId ? (deps.catalog.get(state.data.blueprintId)?.risk ?? 0) : 0;
    const probe = surface.probe;
    return {
      ...state,
      published: seedStateOf(seedId, state, {
        layerDepth,
        risk,
        epoch: probe?.epoch ?? 0,
        learningRate: probe?.learningRate ?? 0,
      }),
    };
  }

  /** Feeds one event to the lifecycle and carries out its effects, including gates that fall due. */
  function apply(ctx: ActorContext<SeedMessage>, state: SeedActorState, event: SeedEvent): SeedActorState {
    const { state: data, effects } = lifecycle.transition(state.data, event, now());
    let next: SeedActorState = { ...state, data };
    if (deps.telemetry) {
      const packet = effectsPacket(data, effects, `kasmina-${seedId}-${now()}-${next.reports}`);
      if (packet) ctx.dispatch(deps.telemetry, packet);
    }
    for (const effect of effects) {
      if (effect.kind === 'detach') surface.grafts.detach(seedId);
      if (effect.kind === 'release') next = release(next);
      if (effect.kind === 'gate_due')
        next = apply(ctx, next, { type: 'advance', result: closingGate(next, effect.gate) });
    }
    if (effects.some((e) => e.kind === 'transition')) {
      const stage = next.data.stage;
      if (stage === Stage.SEED_STAGE_EMBARGOED && next.data.embargoUntil !== null)
        ctx.after(EMBARGO_TIMER, Math.max(1, next.data.embargoUntil - now()));
      if (stage === Stage.SEED_STAGE_RESETTING) {
        const g5 = gateReset({
          detached: !surface.grafts.bySeed(seedId),
          tensorsReleased: next.kernel === null,
          registryReleased: true,
        });
        next = apply(ctx, next, { type: 'reset', g5 });
      }
      if (surface.grafts.bySeed(seedId))
        surface.grafts.update(seedId, { stage: next.data.stage, alpha: next.data.alpha });
    } else if (surface.grafts.bySeed(seedId) && next.data.alpha !== state.data.alpha) {
      surface.grafts.update(seedId, { alpha: next.data.alpha });
    }
    return publish(next);
  }

  function release(state: SeedActorState): SeedActorState {
    surface.grafts.detach(seedId);
    state.kernel?.module.dispose();
    return { ...state, kernel: null, losses: [], isolationViolations: 0 };
  }

  function closingGate(state: SeedActorState, gate: v1.SeedLifecycleGate): GateResult {
    if (gate === Gate.SEED_GATE_G2_STABILITY) {
      return gateStability({
        kernelLatencyMs: state.kernel?.latencyMs ?? 0,
        latencyBudgetMs: settings.latencyBudgetMs,
        seedLosses: state.losses,
      });
    }
    const probe = surface.probe;
    if (!probe) return { gate, passed: false, reason: 'no training run to measure against', attributes: {} };
    const without = new GraftTable();
    for (const graft of surface.grafts.all()) if (graft.seedId !== seedId) without.attach(graft);
    return gateSystemImpact({
      withSeed: probe.probeLoss(surface.grafts),
      withoutSeed: probe.probeLoss(without),
      tolerance: settings.impactTolerance,
    });
  }

  function germinate(
    ctx: ActorContext<SeedMessage>,
    state: SeedActorState,
    command: v1.AdaptationCommand,
  ): SeedActorState {
    const blueprintId = command.seedOperation?.blueprintId ?? '';
    const parameters = { ...command.seedOperation?.parameters };
    let next = apply(ctx, state, {
      type: 'germinate',
      blueprintId,
      g0: gateSanity(deps.catalog, blueprintId, parameters),
    });
    if (next.data.stage !== Stage.SEED_STAGE_GERMINATED) return next;
    const slot = surface.probe?.host.slots.find((s) => s.id === slotId);
    if (!slot) {
      const g3: GateResult = {
        gate: Gate.SEED_GATE_G3_INTERFACE,
        passed: false,
        reason: surface.probe ? `the host has no slot ${slotId}` : 'no training run to graft into',
        attributes: {},
      };
      return apply(ctx, next, { type: 'attach', g3 });
    }
    const kernel = deps.kernels.provide(blueprintId, slot);
    if (deps.telemetry)
      ctx.dispatch(
        deps.telemetry,
        kernelFetchPacket(next.data, kernel.latencyMs, settings.latencyBudgetMs, `kasmina-${seedId}-kernel-${now()}`),
      );
    next = { ...next, kernel, germinatedAt: now(), germinatedEpoch: surface.probe?.epoch ?? 0 };
    next = apply(ctx, next, { type: 'attach', g3: gateInterface(slot.dims, kernel.module.slot.dims) });
    if (next.data.stage === Stage.SEED_STAGE_TRAINING) {
      surface.grafts.attach({ seedId, slotId, module: kernel.module, stage: Stage.SEED_STAGE_TRAINING, alpha: 0 });
    } else {
      next = release(next);
    }
    return next;
  }

  /** PAUSE or its resume, as the lifecycle decides: the module leaves or re-enters the forward pass. */
  function pauseOrResume(ctx: ActorContext<SeedMessage>, state: SeedActorState, action: PauseAction): SeedActorState {
    const { state: data, effects } = lifecycle.transition(state.data, {
      type: action,
      hasModule: state.kernel !== null,
    });
    for (const effect of effects) {
      if (effect.kind === 'pause') surface.grafts.detach(seedId);
      if (effect.kind === 'resume' && state.kernel)
        surface.grafts.attach({ seedId, slotId, module: state.kernel.module, stage: data.stage, alpha: data.alpha });
    }
    if (deps.telemetry)
      ctx.dispatch(deps.telemetry, pausePacket(data, action, effects, `kasmina-${seedId}-${action}-${now()}`));
    return publish({ ...state, data });
  }

  function onSteps(ctx: ActorContext<SeedMessage>, state: SeedActorState, stats: v1.SeedStepStats): SeedActorState {
    // A FOSSILIZED seed is part of the host (gradient through it is intended): nothing left to judge. A paused one's
    // steps do not count.
    if (!ACTIVE_STAGES.has(state.data.stage) || state.data.paused) return { ...state, lastGradNorm: stats.gradNormMax };
    let next: SeedActorState = { ...state, reports: state.reports + 1, lastGradNorm: stats.gradNormMax };
    if (next.data.stage === Stage.SEED_STAGE_TRAINING) next.losses = [...next.losses, stats.lossMean];
    const probe = surface.probe;
    if (
      probe &&
      settings.isolationEvery > 0 &&
      next.reports % settings.isolationEvery === 0 &&
      surface.grafts.bySeed(seedId)
    ) {
      const measured = probe.probeIsolation(surface.grafts, seedId);
      next.isolationMs = measured.ms;
      if (measured.violated) next.isolationViolations += 1;
      if (deps.manager)
        ctx.dispatch(
          deps.manager,
          leyline.MetricPoint.create({
            name: ISOLATION_VERDICT,
            value: measured.violated ? 1 : 0,
            attributes: { seed_id: seedId },
          }),
        );
    }
    const g1: GateResult = stats.error
      ? {
          gate: Gate.SEED_GATE_G1_GRADIENT_HEALTH,
          passed: false,
          reason: `the module threw in the forward pass: ${stats.error}`,
          attributes: {},
        }
      : gateGradientHealth(
          {
            seedGradNorm: stats.nonFiniteSteps > 0 ? Number.NaN : stats.gradNormMax,
            isolationViolations: next.isolationViolations,
          },
          settings.maxGradNorm,
        );
    for (let i = 0; i < stats.steps; i++) {
      const before = next.data.stage;
      next = apply(ctx, next, { type: 'step', g1 });
      // A stage change (or a cull) ends this report: the remaining steps belonged to the old stage.
      if (next.data.stage !== before) break;
    }
    return next;
  }

  /**
   * Back in the recorded stage (a resumed run, or a rollback to a snapshot): a grafted stage keeps the kernel this
   * seed holds, else gets it from Urza again (the same blueprint for the same slot shape, the digest recorded) and its
   * graft; a culled seed's embargo starts afresh. The module's weights are Tolaria's to restore.
   */
  function adopt(ctx: ActorContext<SeedMessage>, current: SeedActorState | null, saved: v1.SeedRecord): SeedActorState {
    let state = stateFromRecord(saved, lifecycle.initialState(seedId, slotId), {
      now: now(),
      embargoMs: settings.timings.embargoMs,
      germinatedAt: current?.germinatedAt ?? now(),
      published: current?.published ?? leyline.SeedState.create({ seedId }),
    });
    const grafted = ACTIVE_STAGES.has(saved.stage) || saved.stage === Stage.SEED_STAGE_FOSSILIZED;
    const held = current?.kernel ?? null;
    if (held && (!grafted || held.blueprintId !== saved.blueprintId)) {
      surface.grafts.detach(seedId);
      held.module.dispose();
    } else if (held) {
      state = { ...state, kernel: held };
    }
    const slot = surface.probe?.host.slots.find((s) => s.id === slotId);
    if (grafted && !state.kernel && slot) {
      const kernel = deps.kernels.provide(saved.blueprintId, slot);
      if (kernel.origin !== 'urza' || (saved.kernelDigest && kernel.digest !== saved.kernelDigest)) {
        kernel.module.dispose();
        const why =
          kernel.origin !== 'urza'
            ? `kernel ${saved.blueprintId} unavailable (${kernel.reason})`
            : `kernel ${saved.blueprintId} changed since the checkpoint (digest ${kernel.digest.slice(0, 12)}, recorded ${saved.kernelDigest.slice(0, 12)})`;
        return apply(ctx, state, { type: 'cull', reason: `not restored: ${why}`, now: now() });
      }
      state = { ...state, kernel };
    }
    if (state.kernel) {
      if (saved.paused) surface.grafts.detach(seedId);
      else if (surface.grafts.bySeed(seedId)) surface.grafts.update(seedId, { stage: saved.stage, alpha: saved.alpha });
      else
        surface.grafts.attach({ seedId, slotId, module: state.kernel.module, stage: saved.stage, alpha: saved.alpha });
    }
    if (state.data.embargoUntil !== null) ctx.after(EMBARGO_TIMER, Math.max(1, state.data.embargoUntil - now()));
    return publish(state);
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
      if (from.module && state.kernel) restoreWeights(state.kernel.module, from.module);
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
    ctx.log.warn('seed restarted from its last state', {
      seed_id: seedId,
      stage: stageName(state.data.stage),
      alpha: state.data.alpha,
    });
    return state;
  }

  /** Not in the state restored (germinated after the snapshot a rollback went back to): out of the host, and gone. */
  function leave(ctx: ActorContext<SeedMessage>, state: SeedActorState): SeedActorState {
    surface.grafts.detach(seedId);
    state.kernel?.module.dispose();
    ctx.stopSelf();
    return { ...state, kernel: null, data: { ...state.data, stage: Stage.SEED_STAGE_TERMINATED, paused: false } };
  }

  function onEmbargoTimer(ctx: ActorContext<SeedMessage>, state: SeedActorState): SeedActorState {
    const next = apply(ctx, state, { type: 'tick', now: now() });
    // A timer may fire a little before the wall clock says the embargo is over: wait for the rest.
    if (next.data.stage === Stage.SEED_STAGE_EMBARGOED && next.data.embargoUntil !== null)
      ctx.after(EMBARGO_TIMER, Math.max(1, next.data.embargoUntil - now()));
    // Nobody asked: the manager hears of the change (its slot may be open again).
    if (next.data.stage !== state.data.stage && deps.manager) ctx.dispatch(deps.manager, next.published);
    return next;
  }

  /** A message from the manager: the seed's new state (its SeedState answers the ask). */
  function handle(
    ctx: ActorContext<SeedMessage>,
    state: SeedActorState,
    message: v1.AdaptationCommand | v1.SeedStepReport | v1.SeedRestore,
  ): SeedActorState {
    if (message instanceof leyline.SeedRestore) {
      const saved = message.seeds[0];
      return saved ? adopt(ctx, state, leyline.SeedRecord.create(saved)) : leave(ctx, state);
    }
    if (message instanceof leyline.SeedStepReport) {
      const mine = message.seeds.find((s) => s.seedId === seedId);
      return mine && (mine.steps ?? 0) > 0 ? onSteps(ctx, state, leyline.SeedStepStats.create(mine)) : state;
    }
    if (message.commandType === CommandType.COMMAND_PAUSE)
      return pauseOrResume(ctx, state, message.annotations?.action === 'resume' ? 'resume' : 'pause');
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
  }

  return {
    kind: 'seed',
    accepts: [
      leyline.AdaptationCommand,
      leyline.SeedStepReport,
      leyline.TimerFired,
      leyline.SeedCheckpointRequest,
      leyline.SeedRestore,
    ],
    start(ctx) {
      if (ctx.incarnation > 1 && carried) return restart(ctx, carried);
      if (deps.restore) return adopt(ctx, null, deps.restore);
      const data = lifecycle.initialState(seedId, slotId);
      return publish({
        data,
        kernel: null,
        losses: [],
        isolationViolations: 0,
        reports: 0,
        lastGradNorm: 0,
        germinatedAt: 0,
        germinatedEpoch: 0,
        isolationMs: 0,
        published: leyline.SeedState.create({ seedId }),
      });
    },
    receive(state, message, ctx) {
      if (message instanceof leyline.TimerFired)
        return message.timerId === EMBARGO_TIMER ? onEmbargoTimer(ctx, state) : state;
      if (message instanceof leyline.SeedCheckpointRequest) {
        ctx.reply(
          leyline.SeedCheckpoint.create({ seeds: [seedRecordOf(state, blendingMethod)], states: [state.published] }),
        );
        return state;
      }
      const next = handle(ctx, state, message);
      ctx.reply(next.published);
      return next;
    },
    stop(state) {
      // A FOSSILIZED seed belongs to the host now (its weights are in the host's optimizer group): it stays.
      const kept = state.data.stage === Stage.SEED_STAGE_FOSSILIZED && !state.data.paused;
      // Kept for a restart after a crash (this hook cannot tell a restart from a final stop).
      let module: Uint8Array | null = null;
      try {
        if (state.kernel && !kept) module = serializeModule(state.kernel.module);
      } catch {
        // A module already disposed has no weights to keep: a restart starts it afresh from Urza.
      }
      carried = {
        state: kept ? state : { ...state, kernel: null },
        record: seedRecordOf(state, blendingMethod),
        module,
      };
      if (kept) return;
      // Any other stopped (or crashed) seed leaves nothing behind in the host.
      surface.grafts.detach(seedId);
      state.kernel?.module.dispose();
    },
    inspect: (state) => ({
      seed_id: seedId,
      stage: stageName(state.data.stage),
      alpha: state.data.alpha.toFixed(4),
      // As last published (the seed's SeedState).
      age_epochs: String(state.published.ageEpochs ?? 0),
      blueprint: state.data.blueprintId,
      slot: slotId,
      kernel: state.kernel ? `${state.kernel.blueprintId} (${state.kernel.origin})` : '',
      last_failure: state.data.lastFailure ?? '',
      paused: String(state.data.paused),
    }),
  };
}
