// Tamiyo's controller (`tamiyo/controller`, kind `tamiyo-controller`): Tolaria asks it with a SystemStatePacket at
// each control boundary and gets a signed AdaptationCommand. It supervises one actor per policy instance — the
// active policy and, after a PolicyUpdate, a candidate evaluated in shadow on the same states. This file is the
// wiring: it asks the policies, carries out the effects of the decision step (decision-step.ts) and of the policy
// versions (policy-versions.ts), writes field reports and completes them once their window has passed (outcome.ts),
// and sends telemetry. Everything that must start afresh when the controller restarts is in its state.
import { performance } from 'node:perf_hooks';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { signCommand } from '../../contracts/command-signing.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import { AskTimeoutError } from '../../runtime/errors.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice } from '../../supervision/dynamic-children.ts';
import type { KarnCatalogReader } from '../karn/index.ts';
import {
  checkPolicyUpdate,
  checkWeights,
  costKey,
  rankCandidates,
  type PolicyWorld,
  type SlotInfo,
} from '../../policy/index.ts';
import {
  decisionStep,
  initialCounters,
  safePause,
  type DecisionEffect,
  type DecisionPorts,
  type DecisionState,
  type FollowUp,
  type PolicyAnswer,
} from './decision-step.ts';
import { FieldReportLog, fieldReportsPath } from './field-report-log.ts';
import { reportCompletion } from './outcome.ts';
import { POLICY_SPEC, policyLogic, readPolicyMemory } from './policy-actor.ts';
import {
  announcementLevel,
  HEURISTIC_POLICY,
  initialPolicyVersions,
  knownVersions,
  transition as versionTransition,
  versionOf,
  type PolicySpec,
} from './policy-versions.ts';
import { RiskEngine } from './risk-engine.ts';
import type { TamiyoSettings } from './settings.ts';

const { TelemetryLevel, HealthStatus } = leyline;

export type TamiyoMessage = v1.SystemStatePacket | v1.PolicyUpdate | DynamicNotice;

export interface TamiyoDeps {
  /** The system the controller runs in: it supervises its policy instances. */
  system: ActorSystem;
  /** How its policy instances are supervised. Default POLICY_SPEC. */
  policySpec?: DynamicChildSpec;
  settings: TamiyoSettings;
  signing: SignatureContext;
  catalog: KarnCatalogReader;
  /** The host's slots now (empty between runs). */
  slots: () => readonly SlotInfo[];
  /** `<varDir>/tamiyo`: field reports, the promoted policy, each policy version's memory. */
  stateDir: string;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  /** Where completed field reports go (the bus, for Simic), after they are durable in the store. */
  fieldReports?: ActorRef<v1.FieldReport> | null;
  /** The TensorFlow.js backend in use (policy worker threads select the same). */
  backend: string;
  /** The run's policy, chosen at boot (`tamiyo.policy`); absent: the policy promoted in `stateDir`, else the heuristic. */
  policy?: PolicySpec | null;
  /** Seeds the draws of a sampling or random policy. Default 1. */
  rngSeed?: number;
  /** The trainable weights a blueprint's module adds at a slot shape (the policy reads what growing would cost). */
  cost?: (descriptor: v1.BlueprintDescriptor, dims: readonly number[]) => number;
}

/** One incarnation's state: a restart begins again from the promoted policy, closed breakers and no pending work. */
interface ControllerState extends DecisionState {
  reports: FieldReportLog;
  /** The policy instances, supervised. */
  policies: DynamicChildren;
  /** The actor of each policy instance in `versions`, by its id. */
  instances: Map<number, ActorRef<v1.SystemStatePacket>>;
  followUps: FollowUp[];
}

const POLICY_FILE = 'policy.pb';
const FOLLOW_UP_TIMER = 'follow-up';
const POLICY_RESTART_TIMER = 'policy-restart:';

const memoryPath = (stateDir: string, version: string): string =>
  join(stateDir, `memory-${version.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);

/** The promoted policy saved at `<stateDir>/policy.pb` (the PolicyUpdate that brought it), or null. */
function loadPromoted(
  stateDir: string,
  mode: Pick<PolicySpec, 'mode' | 'temperature'>,
  log: (message: string) => void,
): PolicySpec | null {
  const path = join(stateDir, POLICY_FILE);
  if (!existsSync(path)) return null;
  const update = decodeLeyline(leyline.PolicyUpdate, readFileSync(path));
  const weights = update.ok ? decodeLeyline(leyline.PolicyWeights, update.message.payload ?? new Uint8Array()) : null;
  try {
    if (!update.ok || !weights?.ok) throw new Error('not a PolicyUpdate with PolicyWeights');
    checkWeights(weights.message);
    return {
      version: update.message.tamiyoPolicyVersion,
      kind: 'network',
      weights: weights.message,
      update: update.message,
      ...mode,
    };
  } catch (error) {
    log(`promoted policy at ${path} is unusable (${(error as Error).message}); starting from the heuristic`);
    return null;
  }
}

export function tamiyoLogic(deps: TamiyoDeps): ActorLogic<ControllerState, TamiyoMessage> {
  const { settings } = deps;
  const askMs = settings.policyAnswerMs;
  const policySpec = validateDynamicSpec(deps.policySpec ?? POLICY_SPEC, 'tamiyo.policySpec');
  const ports: DecisionPorts = {
    now: () => performance.now(),
    lookUpBlueprint: (blueprintId) => deps.catalog.get(blueprintId),
    sign: (command) => signCommand(command, deps.signing),
  };

  const allowedIds = settings.blueprints ? new Set(settings.blueprints) : null;
  const allowed = (all: v1.BlueprintDescriptor[]): v1.BlueprintDescriptor[] =>
    allowedIds ? all.filter((d) => allowedIds.has(d.blueprintId)) : all;

  // Kept across restarts on purpose. Policy actors are numbered for the controller's whole life, so a name is never
  // reused: a notice about an earlier incarnation's instance cannot be taken for a new one's.
  let spawned = 0;
  // What each candidate blueprint would cost at each slot shape: a pure function of the catalog, computed once.
  const costs = new Map<string, number>();
  function world(): PolicyWorld {
    const slots = deps.slots();
    // Only the candidates the graph will show cross to the policy's thread.
    const blueprints = rankCandidates(allowed(deps.catalog.all())).slice(0, settings.graph.maxCandidates);
    const known: Record<string, number> = {};
    if (deps.cost) {
      for (const descriptor of blueprints) {
        for (const slot of slots) {
          const key = costKey(descriptor.blueprintId, slot.dims);
          if (!costs.has(key)) costs.set(key, deps.cost(descriptor, slot.dims));
          known[key] = costs.get(key)!;
        }
      }
    }
    return { slots, blueprints, costs: known };
  }

  function spawnPolicy(
    ctx: ActorContext<TamiyoMessage>,
    state: ControllerState,
    id: number,
    policy: PolicySpec,
    seedMemoryFrom: string | null,
  ): void {
    spawned += 1;
    const path = memoryPath(deps.stateDir, policy.version);
    const inherited =
      seedMemoryFrom && !existsSync(path) ? readPolicyMemory(memoryPath(deps.stateDir, seedMemoryFrom)) : null;
    const ref = state.policies.spawn(
      ctx,
      `policy-${spawned}`,
      policyLogic({
        policy: {
          version: policy.version,
          kind: policy.kind,
          weights: policy.weights,
          mode: policy.mode,
          temperature: policy.temperature,
          rngSeed: deps.rngSeed ?? 1,
          graph: settings.graph,
          prior: settings.prior,
        },
        inherited,
        world,
        memoryPath: path,
        persistEvery: settings.persistEvery,
        thread: settings.policyThread,
        backend: deps.backend,
        threadTimeoutMs: askMs,
      }),
    );
    state.instances.set(id, ref);
  }

  function instance(state: ControllerState, id: number): ActorRef<v1.SystemStatePacket> {
    const ref = state.instances.get(id);
    if (!ref) throw new Error(`policy instance ${id} has no actor`);
    return ref;
  }

  /** The id of the instance whose actor is named `name`, or null. */
  function idOf(state: ControllerState, name: string): number | null {
    for (const [id, ref] of state.instances) if (ref.path.endsWith(`/${name}`)) return id;
    return null;
  }

  function send(ctx: ActorContext<TamiyoMessage>, packet: v1.TelemetryPacket): void {
    if (deps.telemetry) ctx.dispatch(deps.telemetry, packet);
  }

  function policyEvent(
    ctx: ActorContext<TamiyoMessage>,
    description: string,
    level: v1.TelemetryLevel,
    attributes: Record<string, string>,
  ): void {
    send(
      ctx,
      buildTelemetryPacket({
        packetId: `tamiyo-policy-${randomUUID()}`,
        source: 'tamiyo',
        level,
        metrics: [],
        events: [{ description, level, attributes }],
        healthStatus:
          level >= TelemetryLevel.TELEMETRY_LEVEL_WARNING
            ? HealthStatus.HEALTH_STATUS_DEGRADED
            : HealthStatus.HEALTH_STATUS_HEALTHY,
        healthSummary: description,
      }),
    );
  }

  function perform(ctx: ActorContext<TamiyoMessage>, state: ControllerState, effects: readonly DecisionEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'spawn':
          spawnPolicy(ctx, state, effect.id, effect.policy, effect.seedMemoryFrom);
          break;
        case 'retire': {
          // Released from supervision first: stopping it on purpose is not a failure to restart.
          const ref = instance(state, effect.id) as ActorRef<never>;
          state.policies.release(ref);
          ctx.dispatch(ref, leyline.StopRequest.create({ reason: effect.reason }));
          state.instances.delete(effect.id);
          break;
        }
        case 'save-promoted': {
          const path = join(deps.stateDir, POLICY_FILE);
          if (effect.update) writeFileAtomic(path, encodeLeyline(effect.update));
          else rmSync(path, { force: true });
          break;
        }
        case 'announce': {
          const { announcement } = effect;
          if (announcement.description === 'policy_update_applied') state.counters.updatesApplied += 1;
          if (announcement.description === 'policy_update_rejected') state.counters.updatesRejected += 1;
          policyEvent(ctx, announcement.description, announcementLevel(announcement), announcement.attributes);
          break;
        }
        case 'no-policy':
          ctx.log.error('the heuristic policy failed past its restarts; no policy until Tamiyo restarts', {
            error: effect.error,
          });
          break;
        case 'reply':
          ctx.reply(effect.command);
          break;
        case 'follow-up':
          // None of it (an fsync, decoding pending reports, telemetry, the candidate's shadow decision) sits on
          // Tolaria's control hook.
          state.followUps.push(effect.followUp);
          ctx.after(FOLLOW_UP_TIMER, 1, { keepAlive: true });
          break;
      }
    }
  }

  async function askActive(
    ctx: ActorContext<TamiyoMessage>,
    state: ControllerState,
    packet: v1.SystemStatePacket,
  ): Promise<PolicyAnswer> {
    try {
      return {
        type: 'answered',
        decision: await ctx.ask(instance(state, state.versions.active.id), packet, leyline.PolicyDecision, askMs),
      };
    } catch (error) {
      const message = (error as Error).message;
      return error instanceof AskTimeoutError
        ? { type: 'unanswered', error: message }
        : { type: 'failed', error: message };
    }
  }

  async function decide(
    ctx: ActorContext<TamiyoMessage>,
    state: ControllerState,
    packet: v1.SystemStatePacket,
  ): Promise<ControllerState> {
    const startedAt = ports.now();
    // An open inference breaker: the policy is not asked.
    const answer: PolicyAnswer = state.risk.inferenceAllowed()
      ? await askActive(ctx, state, packet)
      : { type: 'gated' };
    perform(ctx, state, decisionStep(state, { packet, answer, startedAt }, settings, ports).effects);
    return state;
  }

  /** The candidate decides on the same state in shadow; its commands are never sent. */
  async function shadow(
    ctx: ActorContext<TamiyoMessage>,
    state: ControllerState,
    packet: v1.SystemStatePacket,
    active: v1.PolicyDecision | null,
  ): Promise<void> {
    const candidate = state.versions.candidate;
    if (!candidate) return;
    let answer: { decision: v1.PolicyDecision } | { error: string };
    try {
      answer = { decision: await ctx.ask(instance(state, candidate.id), packet, leyline.PolicyDecision, askMs) };
    } catch (error) {
      answer = { error: (error as Error).message };
    }
    perform(
      ctx,
      state,
      versionTransition(state.versions, { type: 'shadowed', id: candidate.id, active, answer }, settings).effects,
    );
  }

  /** Completes the pending reports whose observation window has passed, from the state now; answers them. */
  function completeReports(state: ControllerState, packet: v1.SystemStatePacket): v1.FieldReport[] {
    const completed: v1.FieldReport[] = [];
    for (const report of state.reports.pending()) {
      const completion = reportCompletion(report, packet, settings.outcome);
      if (!completion) continue;
      report.outcome = completion.outcome;
      report.metrics = completion.metrics;
      state.reports.complete(report);
      completed.push(report);
    }
    return completed;
  }

  /** Writes the decisions' field reports, completes the reports whose window has passed, sends telemetry, runs the shadow. */
  async function followUp(ctx: ActorContext<TamiyoMessage>, state: ControllerState): Promise<ControllerState> {
    const work = state.followUps.splice(0);
    writeReports(state, work);
    for (const item of work) {
      const completed = completeReports(state, item.packet);
      state.counters.reportsCompleted += completed.length;
      if (deps.fieldReports) for (const report of completed) ctx.dispatch(deps.fieldReports, report);
      send(ctx, item.telemetry);
    }
    for (const item of work) if (item.shadow !== undefined) await shadow(ctx, state, item.packet, item.shadow);
    return state;
  }

  function writeReports(state: ControllerState, work: readonly FollowUp[]): void {
    for (const item of work) {
      state.reports.record(item.report);
      state.counters.reportsAppended += 1;
    }
  }

  /**
   * The controller's part of a decision on scratch objects (risk engine, signing, a report's encoding), so the first
   * real decision does not pay cold-code costs on the training thread. Nothing of it is kept or sent.
   */
  function rehearse(): void {
    const verdict = new RiskEngine(settings.risk).evaluate({
      command: safePause('rehearsal'),
      lossDelta: 0,
      blueprint: null,
      timedOut: false,
      blueprintTimedOut: false,
      trainingMetrics: {},
    });
    encodeLeyline(
      leyline.FieldReport.create({
        reportId: 'rehearsal',
        decision: leyline.PolicyDecision.create({ proposal: signCommand(verdict.command, deps.signing) }),
      }),
    );
  }

  return {
    kind: 'tamiyo-controller',
    accepts: [leyline.SystemStatePacket, leyline.PolicyUpdate],
    start(ctx) {
      const reports = new FieldReportLog(fieldReportsPath(deps.stateDir), { retentionMs: settings.retentionMs });
      const policy =
        deps.policy ?? loadPromoted(deps.stateDir, settings, (message) => ctx.log.warn(message)) ?? HEURISTIC_POLICY;
      const versions = initialPolicyVersions(policy);
      const policies = new DynamicChildren(deps.system, policySpec, POLICY_RESTART_TIMER, (name, effect) => {
        if (effect.type !== 'restart') return;
        // Restarted from its version's weights (the instance's deps are its policy's).
        const id = idOf(state, name);
        state.counters.policyRestarts += 1;
        policyEvent(ctx, 'policy_restarted', TelemetryLevel.TELEMETRY_LEVEL_WARNING, {
          version: id === null ? '' : versionOf(state.versions, id),
          instance: name,
          restarts: String(state.counters.policyRestarts),
        });
      });
      const state: ControllerState = {
        reports,
        risk: new RiskEngine(settings.risk, undefined, settings.conservativeMode),
        versions: versions.state,
        lastValidation: null,
        counters: initialCounters(),
        policies,
        instances: new Map(),
        followUps: [],
      };
      perform(ctx, state, versions.effects);
      rehearse();
      return state;
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.SystemStatePacket) return decide(ctx, state, message);
      if (message instanceof leyline.PolicyUpdate) {
        const check = checkPolicyUpdate(message, deps.signing, knownVersions(state.versions));
        perform(
          ctx,
          state,
          versionTransition(state.versions, { type: 'update', update: message, check }, settings).effects,
        );
        return state;
      }
      if (message instanceof leyline.TimerFired && message.timerId === FOLLOW_UP_TIMER) return followUp(ctx, state);
      // A policy instance failed, started, ended, or its restart is due: its spec decides (POLICY_SPEC).
      const gaveUp = await state.policies.handle(ctx, message);
      const id = gaveUp ? idOf(state, gaveUp.name) : null;
      if (gaveUp && id !== null) {
        perform(
          ctx,
          state,
          versionTransition(state.versions, { type: 'gave-up', id, error: gaveUp.error }, settings).effects,
        );
        // Its supervisor has stopped it. An active heuristic keeps its stopped actor: asking it fails, so decisions hold.
        if (id !== state.versions.active.id) state.instances.delete(id);
      }
      return state;
    },
    stop(state) {
      // Decisions answered but not yet followed up still get their reports.
      writeReports(state, state.followUps);
      state.reports.close();
    },
    inspect: (state) => ({
      policy_version: state.versions.active.version,
      policy_kind: state.versions.active.kind,
      policy_mode: state.versions.active.mode,
      candidate: state.versions.candidate?.version ?? '',
      conservative: String(state.risk.conservative),
      decisions: String(state.counters.decisions),
      timeouts: String(state.counters.timeouts),
      field_reports: String(state.reports.size),
      updates_applied: String(state.counters.updatesApplied),
      updates_rejected: String(state.counters.updatesRejected),
    }),
  };
}
