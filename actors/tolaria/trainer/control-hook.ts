// The control hook at a control boundary: SystemStatePacket → Tamiyo (under a deadline, behind a breaker) →
// the command to Kasmina (under a deadline). Timeouts pre-empt: the hook goes on at the deadline and a late reply
// is dropped. Every failure fails open: Tolaria keeps training without a decision (conservative mode). The ports
// are plain functions, so the rules are tested without actors; the trainer actor binds them to asks.
import { performance } from 'node:perf_hooks';
import { leyline, type v1 } from '../../../contracts/index.ts';
import { CircuitBreaker } from '../../../runtime/circuit-breaker.ts';
import { AskTimeoutError } from '../../../runtime/errors.ts';

const { CommandType } = leyline;

export interface ControlPorts {
  /** Asks Tamiyo for a decision; absent when the run has no policy. */
  tamiyo?: (state: v1.SystemStatePacket, deadlineMs: number) => Promise<v1.AdaptationCommand>;
  /** Forwards a command to Kasmina; absent when the run has no seed manager. */
  kasmina?: (command: v1.AdaptationCommand, deadlineMs: number) => Promise<v1.AdaptationReceipt>;
}

/** How a hook went: a decision applied, none needed, or the failure that sent Tolaria into conservative mode. */
export type HookOutcome =
  | 'applied'
  | 'no_controller'
  | 'conservative'
  | 'breaker_open'
  | 'tamiyo_timeout'
  | 'tamiyo_error'
  | 'kasmina_timeout'
  | 'kasmina_error';

export interface HookResult {
  outcome: HookOutcome;
  command: v1.AdaptationCommand | null;
  receipt: v1.AdaptationReceipt | null;
  tamiyoMs: number;
  kasminaMs: number;
  error?: string;
}

/**
 * Where a boundary's hook time went, in milliseconds, measured on the training thread: assembling the
 * SystemStatePacket, Tamiyo's decision (the ask, answer included), Kasmina's answer (the ask), and Tolaria carrying
 * out what came back (the receipt's seed states, an optimizer or rollback command). They add up to the hook's time
 * but for the few steps between them.
 */
export interface HookPhases {
  assemblyMs: number;
  tamiyoMs: number;
  kasminaMs: number;
  applyMs: number;
}

export interface ControlHookOptions {
  tamiyoDeadlineMs: number;
  kasminaDeadlineMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  now?: () => number;
}

/** Outcomes that put Tolaria in conservative mode (a Kasmina error does not: the policy itself is fine). */
export const CONSERVATIVE_OUTCOMES: ReadonlySet<HookOutcome> = new Set([
  'breaker_open',
  'tamiyo_timeout',
  'tamiyo_error',
  'kasmina_timeout',
]);

/**
 * The command Kasmina gets when there is no decision to forward: in conservative mode, or with no policy. It changes
 * nothing; Kasmina answers with the seeds' states and reports them (its control-boundary telemetry).
 */
export function noOpCommand(runId: string, step: number, mode: 'conservative' | 'no_decision'): v1.AdaptationCommand {
  return leyline.AdaptationCommand.create({
    version: 1,
    commandId: `${runId}-${mode}-${step}`,
    commandType: CommandType.COMMAND_UNKNOWN,
    issuedBy: 'tolaria',
    annotations: { mode },
  });
}

export class ControlHook {
  readonly breaker: CircuitBreaker;
  readonly #now: () => number;

  constructor(
    readonly ports: ControlPorts,
    readonly options: ControlHookOptions,
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.breaker = new CircuitBreaker('tolaria.tamiyo', {
      failureThreshold: options.breakerFailures,
      successThreshold: 1,
      timeoutMs: options.breakerOpenMs,
      clock: this.#now,
    });
  }

  /** One control boundary. In conservative mode Tamiyo is not asked and Kasmina gets the conservative command. */
  async run(state: v1.SystemStatePacket, conservative: boolean): Promise<HookResult> {
    const { tamiyo, kasmina } = this.ports;
    let command: v1.AdaptationCommand | null = null;
    let tamiyoMs = 0;
    let outcome: HookOutcome = 'applied';
    if (!tamiyo) outcome = 'no_controller';
    else if (conservative) outcome = 'conservative';
    else if (!this.breaker.allow()) outcome = 'breaker_open';
    else {
      const started = this.#now();
      try {
        command = await tamiyo(state, this.options.tamiyoDeadlineMs);
        this.breaker.recordSuccess();
      } catch (error) {
        this.breaker.recordFailure();
        tamiyoMs = this.#now() - started;
        const timeout = error instanceof AskTimeoutError;
        return {
          outcome: timeout ? 'tamiyo_timeout' : 'tamiyo_error',
          command: null,
          receipt: null,
          tamiyoMs,
          kasminaMs: 0,
          error: message(error),
        };
      }
      tamiyoMs = this.#now() - started;
    }
    if (!kasmina) return { outcome, command, receipt: null, tamiyoMs, kasminaMs: 0 };
    const mode = outcome === 'conservative' || outcome === 'breaker_open' ? 'conservative' : 'no_decision';
    const sent = command ?? noOpCommand(state.trainingRunId, Number(state.globalStep), mode);
    const started = this.#now();
    try {
      const receipt = await kasmina(sent, this.options.kasminaDeadlineMs);
      return { outcome, command, receipt, tamiyoMs, kasminaMs: this.#now() - started };
    } catch (error) {
      const timeout = error instanceof AskTimeoutError;
      return {
        outcome: timeout ? 'kasmina_timeout' : 'kasmina_error',
        command,
        receipt: null,
        tamiyoMs,
        kasminaMs: this.#now() - started,
        error: message(error),
      };
    }
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** One line on what a boundary decided (for progress output): the command and, if Kasmina refused it, why. */
export function describeDecision(hook: HookResult): string | null {
  const command = hook.command;
  if (!command) return hook.outcome === 'applied' || hook.outcome === 'no_controller' ? null : hook.outcome;
  const a = command.annotations ?? {};
  let text: string;
  switch (command.commandType) {
    case CommandType.COMMAND_SEED:
      text =
        command.seedOperation?.operation === leyline.SeedOperation.SEED_OP_CULL
          ? `cull ${command.targetSeedId}`
          : `germinate ${command.seedOperation?.blueprintId ?? '?'} at ${a.slot_id ?? '?'} as ${command.targetSeedId}`;
      break;
    case CommandType.COMMAND_OPTIMIZER: {
      // The risk engine turns a too-risky germination into an optimizer command that changes nothing.
      const rate = command.optimizerAdjustment?.hyperparameters?.learning_rate;
      text =
        rate === undefined
          ? `optimizer unchanged (${a.risk_reason ?? 'policy'})`
          : `learning rate ${rate.toExponential(2)}`;
      break;
    }
    case CommandType.COMMAND_PAUSE:
      text = command.targetSeedId
        ? `pause ${command.targetSeedId}`
        : `hold (${a.risk_reason && a.risk_reason !== 'policy' ? a.risk_reason : (a.prior_reason ?? a.hold_reason ?? 'policy')})`;
      break;
    default:
      text = leyline.CommandType[command.commandType] ?? String(command.commandType);
  }
  if (hook.receipt && !hook.receipt.applied && command.commandType === CommandType.COMMAND_SEED)
    text += ` — refused: ${hook.receipt.reason}`;
  return text;
}
