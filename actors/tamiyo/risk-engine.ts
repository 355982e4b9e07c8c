// Tamiyo's risk engine (docs/tamiyo.md#the-risk-engine), as plain logic: the policy's proposed
// command goes in with what was measured around it; the command that may be sent comes out, with the reason and the
// events. Rules run in the prototype's order. Conservative mode persists: entered by a trigger, it forces PAUSE on
// every decision until `stableCallsToExit` calls in a row had no trigger, no timeout and both breakers CLOSED — never
// in the call that entered it. An OPEN inference breaker gates: the controller skips inference and sends PAUSE.
// The PAUSE it forces is a hold (no seed, no payload), unlike the prototype's, which kept the payload.
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import type { EventInput } from '../../contracts/telemetry.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';

const { CommandType, TelemetryLevel, BlueprintTier, SeedOperation } = leyline;

export interface RiskConfig {
  policyCritical: number;
  policyElevated: number;
  blueprintQuarantine: number;
  blueprintRisk: number;
  maxLossSpike: number;
  hookBudgetMs: number;
  /** Calls in a row with no trigger, no timeout and both breakers closed before conservative mode ends. */
  stableCallsToExit: number;
  breakerFailures: number;
  breakerCooldownMs: number;
}

export const DEFAULT_RISK_CONFIG: RiskConfig = {
  policyCritical: 0.98,
  policyElevated: 0.85,
  blueprintQuarantine: 0.8,
  blueprintRisk: 0.5,
  maxLossSpike: 0.15,
  hookBudgetMs: 50,
  stableCallsToExit: 3,
  breakerFailures: 3,
  breakerCooldownMs: 100,
};

export interface BlueprintRisk {
  tier: v1.BlueprintTier;
  stage: number;
  risk: number;
  quarantineOnly: boolean;
}

export interface RiskInput {
  /** The policy's proposal; it is not modified (the result carries the command to send). */
  command: v1.AdaptationCommand;
  /** Validation loss now minus at the previous decision (null for the first). */
  lossDelta: number | null;
  blueprint: BlueprintRisk | null;
  /** Inference missed its deadline (the command is then the safe PAUSE already). */
  timedOut: boolean;
  /** Inference was not attempted: the inference breaker is open (neither a success nor a failure for it). */
  inferenceGated?: boolean;
  /** Blueprint metadata (Urza) missed its deadline. */
  blueprintTimedOut: boolean;
  trainingMetrics: Readonly<Record<string, number>>;
}

export interface RiskVerdict {
  command: v1.AdaptationCommand;
  reason: string;
  events: EventInput[];
  conservative: boolean;
}

export class RiskEngine {
  readonly inferenceBreaker: CircuitBreaker;
  readonly metadataBreaker: CircuitBreaker;
  #conservative = false;
  #stableCalls = 0;

  constructor(
    readonly config: RiskConfig = DEFAULT_RISK_CONFIG,
    clock?: () => number,
    startConservative = false,
  ) {
    this.#conservative = startConservative;
    const options = {
      failureThreshold: config.breakerFailures,
      successThreshold: 1,
      timeoutMs: config.breakerCooldownMs,
      ...(clock ? { clock } : {}),
    };
    this.inferenceBreaker = new CircuitBreaker('tamiyo.inference', options);
    this.metadataBreaker = new CircuitBreaker('tamiyo.metadata', options);
  }

  get conservative(): boolean {
    return this.#conservative;
  }

  /** False while the inference breaker is OPEN: the controller sends PAUSE without running the policy. */
  inferenceAllowed(): boolean {
    return this.inferenceBreaker.allow();
  }

  evaluate(input: RiskInput): RiskVerdict {
    const command = copyCommand(input.command);
    const events: EventInput[] = [];
    const { config } = this;
    let reason = command.annotations.risk_reason ?? '';
    let triggered = false;
    // Only a germination is held back by risk: culling a seed is the safe direction.
    const isSeed = (): boolean =>
      command.commandType === CommandType.COMMAND_SEED &&
      command.seedOperation?.operation !== SeedOperation.SEED_OP_CULL;
    // A PAUSE the engine forces is a hold: it names no seed (a GERMINATE's new seed does not exist) and carries no
    // payload. The policy's own PAUSE of a seed keeps its target.
    const pause = (): void => {
      if (command.commandType === CommandType.COMMAND_PAUSE) return;
      command.commandType = CommandType.COMMAND_PAUSE;
      command.targetSeedId = '';
      command.seedOperation = null;
      command.optimizerAdjustment = null;
      command.annotations.action = 'pause';
    };
    const toOptimizer = (): void => {
      command.commandType = CommandType.COMMAND_OPTIMIZER;
      command.seedOperation = null;
      command.optimizerAdjustment = leyline.CommandOptimizerAdjustment.create({ optimizerId: 'sgd' });
    };
    const enter = (why: string): void => {
      triggered = true;
      if (this.#conservative) return;
      this.#conservative = true;
      events.push({
        description: 'conservative_entered',
        level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
        attributes: { reason: why },
      });
    };
    const warn = (
      description: string,
      attributes: Record<string, string> = {},
      level: v1.TelemetryLevel = TelemetryLevel.TELEMETRY_LEVEL_WARNING,
    ): void => {
      events.push({ description, level, attributes });
    };
    const wasConservative = this.#conservative;

    // 1. Policy risk signal.
    const score = Number.parseFloat(command.annotations.policy_risk_score ?? '');
    if (Number.isFinite(score)) {
      events.push({
        description: 'policy_risk_signal',
        attributes: { score: score.toFixed(3), index: command.annotations.policy_risk_index ?? '0' },
      });
      if (score >= config.policyCritical) {
        reason = 'policy_risk_critical';
        pause();
        warn('policy_risk_critical', { score: score.toFixed(3) }, TelemetryLevel.TELEMETRY_LEVEL_CRITICAL);
        enter('policy_risk_critical');
      } else if (score >= config.policyElevated && isSeed()) {
        reason ||= 'policy_risk_elevated';
        toOptimizer();
        warn('policy_risk_elevated', { score: score.toFixed(3) });
        triggered = true;
      }
    }
    // 2. Conservative mode (already on before this call).
    if (wasConservative && !input.timedOut) {
      reason ||= 'conservative_mode';
      pause();
      warn('pause_triggered', { reason: 'conservative_mode' });
    }
    // 3–4. Breakers.
    if (input.timedOut) {
      this.inferenceBreaker.recordFailure();
      warn(
        'breaker_event',
        { component: 'inference', reason: 'timeout_inference' },
        this.inferenceBreaker.isOpen ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL : TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      );
      enter('timeout_inference');
      reason ||= 'timeout_inference';
    } else if (!input.inferenceGated) {
      this.inferenceBreaker.recordSuccess();
    }
    if (input.blueprintTimedOut) {
      this.metadataBreaker.recordFailure();
      warn(
        'breaker_event',
        { component: 'metadata', reason: 'timeout_urza' },
        this.metadataBreaker.isOpen ? TelemetryLevel.TELEMETRY_LEVEL_CRITICAL : TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      );
      reason ||= 'timeout_urza';
      triggered = true;
    } else {
      this.metadataBreaker.recordSuccess();
    }
    // 5. Blueprint.
    const bp = input.blueprint;
    if (bp) {
      command.annotations.blueprint_tier ??= (BlueprintTier[bp.tier] ?? String(bp.tier)).replace('BLUEPRINT_TIER_', '');
      command.annotations.blueprint_stage ??= String(bp.stage);
      command.annotations.blueprint_risk ??= bp.risk.toFixed(2);
      if (bp.quarantineOnly || bp.risk >= config.blueprintQuarantine) {
        warn('bp_quarantine', { tier: command.annotations.blueprint_tier }, TelemetryLevel.TELEMETRY_LEVEL_CRITICAL);
        reason = 'bp_quarantine';
        pause();
        enter('bp_quarantine');
      } else if (bp.risk >= config.blueprintRisk && isSeed()) {
        reason ||= 'blueprint_risk';
        toOptimizer();
        warn('blueprint_risk', { risk: bp.risk.toFixed(2) });
        triggered = true;
      }
    }
    // 6. Loss.
    if (!input.timedOut && input.lossDelta !== null) {
      if (input.lossDelta > config.maxLossSpike) {
        reason = 'loss_spike';
        pause();
        warn('loss_spike', { delta: input.lossDelta.toFixed(3) });
        enter('loss_spike');
      } else if (input.lossDelta > config.maxLossSpike / 2 && isSeed()) {
        reason ||= 'loss_warning';
        toOptimizer();
        warn('loss_warning', { delta: input.lossDelta.toFixed(3) });
        triggered = true;
      }
    }
    // 7. Hook budget (also on timeout).
    const hook = input.trainingMetrics.hook_latency_ms ?? 0;
    if (hook > config.hookBudgetMs) {
      reason = 'hook_budget';
      pause();
      warn('hook_budget', { latency_ms: hook.toFixed(2) });
      triggered = true;
    }
    // 8. Isolation (also on timeout).
    const violations = input.trainingMetrics['kasmina.isolation.violations'] ?? 0;
    if (violations > 0) {
      reason ||= 'isolation_violation';
      pause();
      warn('isolation_violations', { violations: String(Math.trunc(violations)) });
      triggered = true;
    }
    // 9.
    if (!reason && command.commandType === CommandType.COMMAND_PAUSE && this.#conservative)
      reason = 'conservative_mode';
    // 10. Exit only after a stable period, never in the call that entered.
    const stable =
      !triggered &&
      !input.timedOut &&
      !input.inferenceGated &&
      !input.blueprintTimedOut &&
      !this.inferenceBreaker.isOpen &&
      !this.metadataBreaker.isOpen;
    this.#stableCalls = stable ? this.#stableCalls + 1 : 0;
    if (wasConservative && this.#conservative && this.#stableCalls >= config.stableCallsToExit) {
      this.#conservative = false;
      this.#stableCalls = 0;
      events.push({ description: 'conservative_exited', attributes: { reason: 'stabilised' } });
    }
    // 11.
    command.annotations.risk_reason = reason || command.annotations.risk_reason || 'policy';
    return { command, reason: command.annotations.risk_reason, events, conservative: this.#conservative };
  }
}

/** A deep copy (through the wire format: every field, nothing shared with the proposal). */
function copyCommand(command: v1.AdaptationCommand): v1.AdaptationCommand {
  const copied = decodeLeyline(leyline.AdaptationCommand, encodeLeyline(command));
  if (!copied.ok) throw copied.error;
  copied.message.annotations = { ...copied.message.annotations };
  return copied.message;
}
