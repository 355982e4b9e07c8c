// Tamiyo's controller (`tamiyo/controller`, kind `tamiyo-controller`): Tolaria asks it with a SystemStatePacket at
// each control boundary and gets a signed AdaptationCommand. It supervises one actor per policy instance — the
// active policy and, after a PolicyUpdate, a candidate evaluated in shadow on the same states — and runs the
// pipeline around the policy: the inference deadline, blueprint metadata, the risk engine, signing, the durable
// field report, the outcome of earlier decisions once their observation window has passed, and telemetry.
import { performance } from 'node:perf_hooks';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { signCommand } from '../../contracts/command-signing.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { buildTelemetryPacket, type EventInput } from '../../contracts/telemetry.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import { AskTimeoutError } from '../../runtime/errors.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { KarnCatalogReader } from '../karn/index.ts';
import { ARCHITECTURE, checkPolicyUpdate, checkWeights, costKey, HEURISTIC_VERSION, RANDOM_VERSION, rankCandidates, type PolicyKind, type PolicyMode, type PolicyWorld, type SlotInfo } from '../../policy/index.ts';
import { FieldReportLog, fieldReportsPath } from './field-report-log.ts';
import { decisionTelemetry } from './decision-telemetry.ts';
import { commandAction, judgeOutcome } from './outcome.ts';
import { POLICY_SPEC, policyLogic, readPolicyMemory, STARTING } from './policy-actor.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { validateDynamicSpec, type DynamicChildSpec } from '../../supervision/child-spec.ts';
import { DynamicChildren, type DynamicNotice, type GaveUp } from '../../supervision/dynamic-children.ts';
import { RiskEngine, type BlueprintRisk } from './risk-engine.ts';
import type { TamiyoSettings } from './settings.ts';

const { CommandType, TelemetryLevel, HealthStatus, FieldReportOutcome } = leyline;

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

/** A policy the controller runs: what its instances are built from, and the update that brought it (if any). */
export interface PolicySpec {
  version: string;
  kind: PolicyKind;
  /** The network's weights (kind `network`); null otherwise. */
  weights: v1.PolicyWeights | null;
  update: v1.PolicyUpdate | null;
  mode: PolicyMode;
  temperature: number;
}

type Policy = PolicySpec;

/** The heuristic policy: what decides when no other is given, and what a failing policy falls back to. */
export const HEURISTIC_POLICY: PolicySpec = { version: HEURISTIC_VERSION, kind: 'heuristic', weights: null, update: null, mode: 'greedy', temperature: 1 };
/** The random policy: uniform over the allowed actions (a baseline). */
export const RANDOM_POLICY: PolicySpec = { version: RANDOM_VERSION, kind: 'random', weights: null, update: null, mode: 'greedy', temperature: 1 };

interface PolicySlot extends Policy {
  ref: ActorRef<v1.SystemStatePacket>;
}

interface Candidate extends PolicySlot {
  update: v1.PolicyUpdate;
  shadowed: number;
  agreed: number;
}

export interface TamiyoCounters {
  decisions: number;
  timeouts: number;
  policyErrors: number;
  gated: number;
  reportsAppended: number;
  reportsCompleted: number;
  updatesApplied: number;
  updatesRejected: number;
  policyRestarts: number;
}

interface ControllerState {
  reports: FieldReportLog;
  risk: RiskEngine;
  active: PolicySlot;
  /** The policy the active one replaced, kept for rollback. */
  previous: Policy | null;
  /** The active policy's failed decisions in a row (no answer, an error, late). */
  activeFailures: number;
  candidate: Candidate | null;
  /** The policy instances, supervised. */
  policies: DynamicChildren;
  /** The last validation loss seen, and its run (a loss delta never spans two runs). */
  lastValidation: { runId: string; loss: number } | null;
  counters: TamiyoCounters;
  followUps: FollowUp[];
}

/** What is left of a decision once its command has been answered. */
interface FollowUp {
  packet: v1.SystemStatePacket;
  report: v1.FieldReport;
  written?: boolean;
  telemetry: v1.TelemetryPacket;
  /** The active policy's decision, for the candidate's shadow comparison (absent: no shadow for this one). */
  shadow: v1.PolicyDecision | null | undefined;
}

const POLICY_FILE = 'policy.pb';
/** A promoted policy that fails this many decisions in a row is replaced by the one before it. */
const ROLLBACK_AFTER = 3;
const FOLLOW_UP_TIMER = 'follow-up';
const POLICY_RESTART_TIMER = 'policy-restart:';

/** A decision that never ran the policy (deadline, failure, breaker): PAUSE with no target, changing nothing. */
export function safePause(reason: string): v1.AdaptationCommand {
  return leyline.AdaptationCommand.create({
    version: 1,
    commandType: CommandType.COMMAND_PAUSE,
    issuedBy: 'tamiyo',
    annotations: { policy_action: 'timeout', policy_param_delta: '0.0', risk_reason: reason, action: 'pause' },
  });
}

/** A policy slot's policy (without its actor). */
const policyOf = (slot: Policy): Policy => ({ version: slot.version, kind: slot.kind, weights: slot.weights, update: slot.update, mode: slot.mode, temperature: slot.temperature });

const memoryPath = (stateDir: string, version: string): string => join(stateDir, `memory-${version.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);

/** The promoted policy saved at `<stateDir>/policy.pb` (the PolicyUpdate that brought it), or null. */
function loadPromoted(stateDir: string, mode: Pick<Policy, 'mode' | 'temperature'>, log: (message: string) => void): Policy | null {
  const path = join(stateDir, POLICY_FILE);
  if (!existsSync(path)) return null;
  const update = decodeLeyline(leyline.PolicyUpdate, readFileSync(path));
  const weights = update.ok ? decodeLeyline(leyline.PolicyWeights, update.message.payload ?? new Uint8Array()) : null;
  try {
    if (!update.ok || !weights?.ok) throw new Error('not a PolicyUpdate with PolicyWeights');
    checkWeights(weights.message);
    return { version: update.message.tamiyoPolicyVersion, kind: 'network', weights: weights.message, update: update.message, ...mode };
  } catch (error) {
    log(`promoted policy at ${path} is unusable (${(error as Error).message}); starting from the heuristic`);
    return null;
  }
}

export function tamiyoLogic(deps: TamiyoDeps): ActorLogic<ControllerState, TamiyoMessage> {
  const { settings } = deps;
  const askMs = settings.policyAnswerMs;
  const policySpec = validateDynamicSpec(deps.policySpec ?? POLICY_SPEC, 'tamiyo.policySpec');

  const allowedIds = settings.blueprints ? new Set(settings.blueprints) : null;
  const allowed = (all: v1.BlueprintDescriptor[]): v1.BlueprintDescriptor[] => (allowedIds ? all.filter((d) => allowedIds.has(d.blueprintId)) : all);

  // Policy actors are numbered for the controller's whole life (restarts included), so a name is never reused.
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

  function spawnPolicy(ctx: ActorContext<TamiyoMessage>, policies: DynamicChildren, policy: Policy, seedMemoryFrom?: string): ActorRef<v1.SystemStatePacket> {
    spawned += 1;
    const path = memoryPath(deps.stateDir, policy.version);
    const inherited = seedMemoryFrom && !existsSync(path) ? readPolicyMemory(memoryPath(deps.stateDir, seedMemoryFrom)) : null;
    return policies.spawn(
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
  }

  /** Stops a policy instance on purpose (replaced, rolled back, rejected): not a failure to restart. */
  function retire(ctx: ActorContext<TamiyoMessage>, state: ControllerState, ref: ActorRef<v1.SystemStatePacket>, reason: string): void {
    state.policies.release(ref as ActorRef<never>);
    ctx.dispatch(ref as ActorRef<never>, leyline.StopRequest.create({ reason }));
  }

  function send(packet: v1.TelemetryPacket, ctx: ActorContext<TamiyoMessage>): void {
    if (deps.telemetry) ctx.dispatch(deps.telemetry, packet);
  }

  function policyEvent(ctx: ActorContext<TamiyoMessage>, description: string, level: v1.TelemetryLevel, attributes: Record<string, string>): void {
    send(
      buildTelemetryPacket({
        packetId: `tamiyo-policy-${randomUUID()}`,
        source: 'tamiyo',
        level,
        metrics: [],
        events: [{ description, level, attributes }],
        healthStatus: level >= TelemetryLevel.TELEMETRY_LEVEL_WARNING ? HealthStatus.HEALTH_STATUS_DEGRADED : HealthStatus.HEALTH_STATUS_HEALTHY,
        healthSummary: description,
      }),
      ctx,
    );
  }

  function rejectUpdate(ctx: ActorContext<TamiyoMessage>, state: ControllerState, version: string, reason: string): void {
    state.counters.updatesRejected += 1;
    policyEvent(ctx, 'policy_update_rejected', TelemetryLevel.TELEMETRY_LEVEL_WARNING, { version, reason });
  }

  function promote(ctx: ActorContext<TamiyoMessage>, state: ControllerState, candidate: Candidate): void {
    writeFileAtomic(join(deps.stateDir, POLICY_FILE), encodeLeyline(candidate.update));
    retire(ctx, state, state.active.ref, `replaced by policy ${candidate.version}`);
    state.previous = policyOf(state.active);
    state.active = { ...policyOf(candidate), ref: candidate.ref };
    state.activeFailures = 0;
    state.candidate = null;
    state.counters.updatesApplied += 1;
    policyEvent(ctx, 'policy_update_applied', TelemetryLevel.TELEMETRY_LEVEL_INFO, {
      version: candidate.version,
      previous: state.previous.version,
      shadow_decisions: String(candidate.shadowed),
      agreement: (candidate.agreed / Math.max(1, candidate.shadowed)).toFixed(3),
    });
  }

  /**
   * Back to the policy the active one replaced (or the heuristic): after ROLLBACK_AFTER late or missing decisions in
   * a row, or once its instance is past its restarts (POLICY_SPEC).
   */
  function rollBack(ctx: ActorContext<TamiyoMessage>, state: ControllerState, previous: Policy, reason: string): void {
    const failed = state.active;
    retire(ctx, state, failed.ref, 'rolled back');
    const path = join(deps.stateDir, POLICY_FILE);
    if (previous.update) writeFileAtomic(path, encodeLeyline(previous.update));
    else rmSync(path, { force: true });
    state.active = { ...previous, ref: spawnPolicy(ctx, state.policies, previous) };
    state.previous = null;
    state.activeFailures = 0;
    policyEvent(ctx, 'policy_rolled_back', TelemetryLevel.TELEMETRY_LEVEL_WARNING, { from: failed.version, to: previous.version, reason });
  }

  /** A policy instance the controller gave up on (past its restarts): a candidate is rejected, the active one rolled back. */
  function gaveUpOn(ctx: ActorContext<TamiyoMessage>, state: ControllerState, gaveUp: GaveUp): void {
    const named = (ref: ActorRef<v1.SystemStatePacket>): boolean => ref.path.endsWith(`/${gaveUp.name}`);
    if (state.candidate && named(state.candidate.ref)) {
      const gone = state.candidate;
      state.candidate = null;
      rejectUpdate(ctx, state, gone.version, `candidate failed past its restarts: ${gaveUp.error}`);
    } else if (named(state.active.ref)) {
      if (state.previous || state.active.kind !== 'heuristic') rollBack(ctx, state, state.previous ?? HEURISTIC_POLICY, `failed past its restarts: ${gaveUp.error}`);
      // The heuristic itself keeps failing: no more restarts; decisions hold (and the breaker gates).
      else ctx.log.error('the heuristic policy failed past its restarts; no policy until Tamiyo restarts', { error: gaveUp.error });
    }
  }

  /** The candidate decides on the same state in shadow; its commands are never sent. */
  async function shadow(ctx: ActorContext<TamiyoMessage>, state: ControllerState, packet: v1.SystemStatePacket, active: v1.PolicyDecision | null): Promise<void> {
    const candidate = state.candidate;
    if (!candidate) return;
    let decision: v1.PolicyDecision;
    try {
      decision = await ctx.ask(candidate.ref, packet, leyline.PolicyDecision, askMs);
    } catch (error) {
      if (state.candidate !== candidate) return;
      state.candidate = null;
      retire(ctx, state, candidate.ref, 'failed in shadow');
      return rejectUpdate(ctx, state, candidate.version, `failed in shadow: ${(error as Error).message}`);
    }
    if (state.candidate !== candidate) return;
    if (decision.inferenceMs > settings.inferenceTimeoutMs) {
      state.candidate = null;
      retire(ctx, state, candidate.ref, 'too slow in shadow');
      return rejectUpdate(ctx, state, candidate.version, `shadow decision over the ${settings.inferenceTimeoutMs} ms deadline`);
    }
    candidate.shadowed += 1;
    if (active && active.choices?.action === decision.choices?.action) candidate.agreed += 1;
    if (candidate.shadowed >= settings.shadowDecisions) promote(ctx, state, candidate);
  }

  /** Completes the pending reports whose observation window has passed, from the state now; answers them. */
  function completeReports(state: ControllerState, packet: v1.SystemStatePacket): v1.FieldReport[] {
    if (!(packet.validationLoss > 0)) return [];
    const completed: v1.FieldReport[] = [];
    for (const report of state.reports.pending()) {
      // Only this run's figures say what this run's decisions did (an ended run's pending reports age out).
      if (report.trainingRunId !== (packet.trainingRunId || 'run-unknown')) continue;
      const metrics = report.metrics ?? {};
      const epoch = metrics['decision.epoch'] ?? 0;
      if (packet.currentEpoch < epoch + report.observationWindowEpochs) continue;
      const seed = packet.seedStates.find((s) => s.seedId === report.seedId);
      const outcome = judgeOutcome(
        {
          action: metrics['decision.kind'] ?? leyline.PolicyAction.POLICY_ACTION_WAIT,
          seedStage: seed ? (seed.stage ?? 0) : null,
          lossBefore: metrics['decision.validation_loss'] ?? 0,
          lossAfter: packet.validationLoss,
        },
        settings.outcome,
      );
      const before = metrics['decision.validation_loss'] ?? 0;
      report.outcome = outcome;
      report.metrics = {
        ...metrics,
        'observed.epoch': packet.currentEpoch,
        'observed.validation_loss': packet.validationLoss,
        'observed.validation_accuracy': packet.validationAccuracy ?? 0,
        // Simic's reward reads loss_delta: the change over the window (negative = better).
        loss_delta: before > 0 ? packet.validationLoss - before : 0,
        ...(seed ? { 'observed.seed_stage': seed.stage ?? 0, 'observed.seed_parameters': seed.metrics?.parameters ?? 0 } : {}),
      };
      state.reports.complete(report);
      completed.push(report);
    }
    return completed;
  }

  async function decide(ctx: ActorContext<TamiyoMessage>, state: ControllerState, packet: v1.SystemStatePacket): Promise<ControllerState> {
    const started = performance.now();
    const events: EventInput[] = [];
    let decision: v1.PolicyDecision | null = null;
    let timedOut = false;
    let gated = false;
    let failure = '';
    if (!state.risk.inferenceAllowed()) {
      gated = true;
      state.counters.gated += 1;
      failure = 'inference_breaker_open';
      events.push({ description: 'inference_gated', level: TelemetryLevel.TELEMETRY_LEVEL_WARNING, attributes: { breaker: 'inference' } });
    } else {
      try {
        decision = await ctx.ask(state.active.ref, packet, leyline.PolicyDecision, askMs);
      } catch (error) {
        // No answer within the liveness guard, or the policy failed: no decision either way.
        timedOut = true;
        const unanswered = error instanceof AskTimeoutError;
        failure = unanswered ? 'timeout_inference' : 'policy_error';
        state.counters[unanswered ? 'timeouts' : 'policyErrors'] += 1;
        events.push({ description: failure, level: unanswered ? TelemetryLevel.TELEMETRY_LEVEL_WARNING : TelemetryLevel.TELEMETRY_LEVEL_ERROR, attributes: { error: (error as Error).message } });
      }
      if (decision?.decidedBy === STARTING) {
        // Not a failure: the policy's thread is still starting. Hold, as with a gated breaker.
        events.push({ description: 'policy_starting', attributes: { version: decision.policyVersion } });
        decision = null;
        gated = true;
        failure = 'policy_starting';
      } else if (decision && decision.inferenceMs > settings.inferenceTimeoutMs) {
        // Late: discarded whole; nothing of it reaches the command, the report or the controller's state.
        events.push({ description: 'timeout_inference', level: TelemetryLevel.TELEMETRY_LEVEL_WARNING, attributes: { budget_ms: settings.inferenceTimeoutMs.toFixed(1), elapsed_ms: decision.inferenceMs.toFixed(2) } });
        decision = null;
        timedOut = true;
        failure = 'timeout_inference';
        state.counters.timeouts += 1;
      }
    }
    // A policy that crashed is counted when its Terminated arrives; here: no answer in time, or a late one.
    if (timedOut && failure === 'timeout_inference') state.activeFailures += 1;
    else if (decision) state.activeFailures = 0;
    if (state.activeFailures >= ROLLBACK_AFTER && state.active.kind !== 'heuristic') rollBack(ctx, state, state.previous ?? HEURISTIC_POLICY, `${ROLLBACK_AFTER} failed decisions in a row`);
    const inferenceMs = performance.now() - started;
    const proposal = decision?.proposal ? leyline.AdaptationCommand.create(decision.proposal) : safePause(failure);

    let blueprint: BlueprintRisk | null = null;
    let blueprintTimedOut = false;
    const blueprintId = proposal.seedOperation?.blueprintId ?? '';
    if (proposal.commandType === CommandType.COMMAND_SEED && blueprintId) {
      const lookup = performance.now();
      const descriptor = deps.catalog.get(blueprintId);
      blueprintTimedOut = performance.now() - lookup > settings.metadataTimeoutMs;
      if (blueprintTimedOut) events.push({ description: 'timeout_urza', level: TelemetryLevel.TELEMETRY_LEVEL_WARNING, attributes: { budget_ms: settings.metadataTimeoutMs.toFixed(1) } });
      else if (descriptor) blueprint = { tier: descriptor.tier, stage: descriptor.stage, risk: descriptor.risk, quarantineOnly: descriptor.quarantineOnly };
    }
    const hasValidation = packet.validationLoss > 0;
    const last = state.lastValidation;
    // The previous epoch's loss from the run's own history when the packet carries it (a resumed run has it too).
    const history = packet.validationLossHistory ?? [];
    const previous = history.length >= 2 ? history[history.length - 2]! : last !== null && last.runId === packet.trainingRunId ? last.loss : null;
    const lossDelta = hasValidation && previous !== null ? packet.validationLoss - previous : null;
    const verdict = state.risk.evaluate({
      command: proposal,
      lossDelta,
      blueprint,
      timedOut,
      inferenceGated: gated,
      blueprintTimedOut,
      trainingMetrics: packet.trainingMetrics ?? {},
    });
    events.push(...verdict.events);
    const command = verdict.command;
    command.annotations.policy_version = decision?.policyVersion ?? state.active.version;
    command.annotations.policy_arch = ARCHITECTURE;
    signCommand(command, deps.signing);

    // The decision's field report (written by the follow-up, right after the reply).
    const runId = packet.trainingRunId || 'run-unknown';
    const report = leyline.FieldReport.create({
      version: 1,
      // One decision per boundary of a run: the same id when a resumed run decides at that boundary again.
      reportId: `${runId}@${String(packet.globalStep)}`,
      commandId: command.commandId,
      trainingRunId: runId,
      seedId: command.targetSeedId,
      blueprintId: command.seedOperation?.blueprintId ?? '',
      outcome: FieldReportOutcome.FIELD_REPORT_OUTCOME_UNSPECIFIED,
      metrics: {
        'decision.epoch': packet.currentEpoch,
        'decision.kind': commandAction(command),
        'decision.validation_loss': packet.validationLoss ?? 0,
        'decision.validation_accuracy': packet.validationAccuracy ?? 0,
        'decision.loss_delta': lossDelta ?? 0,
        'decision.inference_ms': inferenceMs,
        'decision.conservative': verdict.conservative ? 1 : 0,
        ...(packet.trainingMetrics?.hook_latency_ms !== undefined ? { hook_latency_ms: packet.trainingMetrics.hook_latency_ms } : {}),
        ...(blueprint ? { blueprint_risk: blueprint.risk } : {}),
      },
      observationWindowEpochs: settings.observationEpochs,
      issuedAt: command.issuedAt,
      tamiyoPolicyVersion: command.annotations.policy_version,
      notes: failure || (events.find((e) => e.description.startsWith('timeout'))?.description ?? events.at(-1)?.description ?? `risk:${verdict.reason}`),
      ...(decision ? { decision } : {}),
    });
    state.counters.decisions += 1;
    const decisionMs = performance.now() - started;
    ctx.reply(command);
    if (hasValidation) state.lastValidation = { runId: packet.trainingRunId, loss: packet.validationLoss };
    // The rest waits for the follow-up timer, so none of it (an fsync, decoding pending reports, telemetry, the
    // candidate's shadow decision) sits on Tolaria's control hook.
    state.followUps.push({ packet, report, telemetry: decisionTelemetry({ packet, command, decision, events, risk: state.risk, policyVersion: state.active.version, counters: state.counters, inferenceMs, decisionMs, deadlineMs: settings.inferenceTimeoutMs, lossDelta: lossDelta ?? 0, blueprint }), shadow: !timedOut && !gated ? decision : undefined });
    ctx.after(FOLLOW_UP_TIMER, 1, { keepAlive: true });
    return state;
  }

  /** Writes the decisions' field reports, completes the reports whose window has passed, sends telemetry, runs the shadow. */
  async function followUp(ctx: ActorContext<TamiyoMessage>, state: ControllerState): Promise<ControllerState> {
    const work = state.followUps.splice(0);
    flushReports(state, work);
    for (const item of work) {
      const completed = completeReports(state, item.packet);
      state.counters.reportsCompleted += completed.length;
      if (deps.fieldReports) for (const report of completed) ctx.dispatch(deps.fieldReports, report);
      send(item.telemetry, ctx);
    }
    for (const item of work) if (item.shadow !== undefined) await shadow(ctx, state, item.packet, item.shadow);
    return state;
  }

  function flushReports(state: ControllerState, work: readonly FollowUp[]): void {
    for (const item of work) {
      if (item.written) continue;
      state.reports.record(item.report);
      item.written = true;
      state.counters.reportsAppended += 1;
    }
  }

  /**
   * The controller's part of a decision on scratch objects (risk engine, signing, a report's encoding), so the first
   * real decision does not pay cold-code costs on the training thread. Nothing of it is kept or sent.
   */
  function rehearse(): void {
    const verdict = new RiskEngine(settings.risk).evaluate({ command: safePause('rehearsal'), lossDelta: 0, blueprint: null, timedOut: false, blueprintTimedOut: false, trainingMetrics: {} });
    encodeLeyline(leyline.FieldReport.create({ reportId: 'rehearsal', decision: leyline.PolicyDecision.create({ proposal: signCommand(verdict.command, deps.signing) }) }));
  }

  function receiveUpdate(ctx: ActorContext<TamiyoMessage>, state: ControllerState, update: v1.PolicyUpdate): ControllerState {
    const known = [state.active.version, ...(state.candidate ? [state.candidate.version] : [])];
    const check = checkPolicyUpdate(update, deps.signing, known);
    if (!check.ok) {
      rejectUpdate(ctx, state, update.tamiyoPolicyVersion ?? '', check.reason);
      return state;
    }
    if (state.candidate) {
      retire(ctx, state, state.candidate.ref, `superseded by ${check.version}`);
      rejectUpdate(ctx, state, state.candidate.version, `superseded by ${check.version} before promotion`);
    }
    const policy: Policy = { version: check.version, kind: 'network', weights: check.weights, update, mode: settings.mode, temperature: settings.temperature };
    state.candidate = { ...policy, update, ref: spawnPolicy(ctx, state.policies, policy, state.active.version), shadowed: 0, agreed: 0 };
    policyEvent(ctx, 'policy_update_received', TelemetryLevel.TELEMETRY_LEVEL_INFO, { version: check.version, shadow_decisions_needed: String(settings.shadowDecisions) });
    return state;
  }

  return {
    kind: 'tamiyo-controller',
    accepts: [leyline.SystemStatePacket, leyline.PolicyUpdate],
    start(ctx) {
      const reports = new FieldReportLog(fieldReportsPath(deps.stateDir), { retentionMs: settings.retentionMs });
      const policy = deps.policy ?? loadPromoted(deps.stateDir, settings, (message) => ctx.log.warn(message)) ?? HEURISTIC_POLICY;
      const counters: TamiyoCounters = { decisions: 0, timeouts: 0, policyErrors: 0, gated: 0, reportsAppended: 0, reportsCompleted: 0, updatesApplied: 0, updatesRejected: 0, policyRestarts: 0 };
      // Set once the state exists: the restart observer names the version of the instance it restarted.
      let current: ControllerState | null = null;
      const policies = new DynamicChildren(deps.system, policySpec, POLICY_RESTART_TIMER, (name, effect) => {
        if (effect.type !== 'restart') return;
        // Restarted from its version's weights (the instance's deps are its policy's).
        const version = [current?.active, current?.candidate].find((slot) => slot?.ref.path.endsWith(`/${name}`))?.version ?? '';
        counters.policyRestarts += 1;
        policyEvent(ctx, 'policy_restarted', TelemetryLevel.TELEMETRY_LEVEL_WARNING, { version, instance: name, restarts: String(counters.policyRestarts) });
      });
      const state: ControllerState = {
        reports,
        risk: new RiskEngine(settings.risk, undefined, settings.conservativeMode),
        active: { ...policy, ref: spawnPolicy(ctx, policies, policy) },
        previous: null,
        activeFailures: 0,
        candidate: null,
        policies,
        lastValidation: null,
        followUps: [],
        counters,
      };
      current = state;
      rehearse();
      return state;
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.SystemStatePacket) return decide(ctx, state, message);
      if (message instanceof leyline.PolicyUpdate) return receiveUpdate(ctx, state, message);
      if (message instanceof leyline.TimerFired && message.timerId === FOLLOW_UP_TIMER) return followUp(ctx, state);
      // A policy instance failed, started, ended, or its restart is due: its spec decides (POLICY_SPEC).
      const gaveUp = await state.policies.handle(ctx, message);
      if (gaveUp) gaveUpOn(ctx, state, gaveUp);
      return state;
    },
    stop(state) {
      // Decisions answered but not yet followed up still get their reports.
      flushReports(state, state.followUps);
      state.reports.close();
    },
    inspect: (state) => ({
      policy_version: state.active.version,
      policy_kind: state.active.kind,
      policy_mode: state.active.mode,
      candidate: state.candidate?.version ?? '',
      conservative: String(state.risk.conservative),
      decisions: String(state.counters.decisions),
      timeouts: String(state.counters.timeouts),
      field_reports: String(state.reports.size),
      updates_applied: String(state.counters.updatesApplied),
      updates_rejected: String(state.counters.updatesRejected),
    }),
  };
}

