// Child specs and supervisor flags as data, in the manner of Erlang/OTP: a supervision tree is declared, then
// built. Validation names the bad field, so a broken configuration fails at boot with a clear message.
import { leyline, type v1 } from '../contracts/index.ts';
import type { AnyActorLogic } from '../runtime/logic.ts';
import { assertValidActorName } from '../runtime/names.ts';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';

const { RestartPolicy, SupervisionStrategy } = leyline;

/** Chooses what to do when a child's handler throws; anything but a valid directive falls back to restart. */
export type Decider = (error: string, failure: v1.ActorFailed) => v1.SupervisorDirective;

interface CommonSpec {
  /** The child's actor name, unique among its siblings. */
  id: string;
  /** Default PERMANENT. */
  restart?: v1.RestartPolicy;
  /** How long the child gets to stop before it is marked stopped without its clean-up. Default 5000 ms. */
  shutdownMs?: number;
}

export interface WorkerSpec extends CommonSpec {
  logic: AnyActorLogic;
  mailboxCapacity?: number;
  decide?: Decider;
}

export interface SupervisorSpec extends CommonSpec {
  flags?: Partial<SupervisorFlags>;
  children: ChildSpec[];
}

export type ChildSpec = WorkerSpec | SupervisorSpec;

export interface SupervisorFlags {
  strategy: v1.SupervisionStrategy;
  /** At most this many restarts within `periodMs`; one more and the supervisor escalates. */
  intensity: number;
  periodMs: number;
  /**
   * A child that fails this many times in a row with the same error (no stable run between) is not restarted again:
   * the supervisor escalates at once, whatever the period. A restart does not cure a failure that repeats exactly (a
   * checkpoint that no longer fits, a bad file), and escalating the same error again at each level brings it to the
   * root in bounded time. 0: off.
   */
  maxRepeats: number;
  backoff: BackoffPolicy;
}

export const DEFAULT_FLAGS: SupervisorFlags = {
  strategy: SupervisionStrategy.SUPERVISION_STRATEGY_ONE_FOR_ONE,
  intensity: 5,
  periodMs: 60_000,
  maxRepeats: 3,
  backoff: DEFAULT_BACKOFF,
};

export const DEFAULT_SHUTDOWN_MS = 5_000;

/**
 * A child an actor starts at run time (a seed, a compile job, a policy instance), supervised by that actor
 * (`dynamic-children.ts`) under the same rules as a tree's: its restart policy, at most `intensity` restarts within
 * `periodMs` or `maxRepeats` of the same error in a row, a backoff. Past them, `giveUp` (a SupervisorDirective) says what
 * happens: STOP ends the child and its parent deals with it (a seed is culled, a job's request is answered with the
 * failure); ESCALATE fails the parent, whose own supervisor decides.
 */
export interface DynamicChildSpec {
  restart: v1.RestartPolicy;
  intensity: number;
  periodMs: number;
  maxRepeats: number;
  backoff: BackoffPolicy;
  giveUp:
    | typeof leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP
    | typeof leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE;
  /** How long the child gets to stop. */
  shutdownMs: number;
}

/** The spec's flags as a one-child supervisor's (the decisions are supervisor-logic.ts's). */
export function dynamicFlags(spec: DynamicChildSpec): SupervisorFlags {
  return resolveFlags({
    intensity: spec.intensity,
    periodMs: spec.periodMs,
    maxRepeats: spec.maxRepeats,
    backoff: spec.backoff,
  });
}

/** Checks a dynamic child's spec; throws ChildSpecError naming the field (`kasmina.seedSupervision.intensity`). */
export function validateDynamicSpec(spec: DynamicChildSpec, path: string): DynamicChildSpec {
  if (!Object.values(RestartPolicy).includes(spec.restart) || spec.restart === 0) {
    throw new ChildSpecError(`${path}.restart`, `must be a RestartPolicy, got ${String(spec.restart)}`);
  }
  if (
    spec.giveUp !== leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP &&
    spec.giveUp !== leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_ESCALATE
  ) {
    throw new ChildSpecError(
      `${path}.giveUp`,
      `must be SUPERVISOR_DIRECTIVE_STOP or SUPERVISOR_DIRECTIVE_ESCALATE, got ${String(spec.giveUp)}`,
    );
  }
  if (!positive(spec.shutdownMs))
    throw new ChildSpecError(`${path}.shutdownMs`, `must be > 0, got ${String(spec.shutdownMs)}`);
  validateFlags(dynamicFlags(spec), path);
  return spec;
}

export const isSupervisorSpec = (spec: ChildSpec): spec is SupervisorSpec => 'children' in spec;

export function resolveFlags(flags: Partial<SupervisorFlags> | undefined): SupervisorFlags {
  return {
    ...DEFAULT_FLAGS,
    ...flags,
    backoff: { ...DEFAULT_BACKOFF, ...flags?.backoff },
  };
}

export class ChildSpecError extends Error {
  override readonly name = 'ChildSpecError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`supervision tree: ${field} ${problem}`);
  }
}

const positive = (value: number): boolean => Number.isFinite(value) && value > 0;

/** Checks a whole tree; throws ChildSpecError naming the first bad field (e.g. `root.kasmina.flags.intensity`). */
export function validateTree(spec: SupervisorSpec, path = spec.id): void {
  validateCommon(spec, path);
  const flags = resolveFlags(spec.flags);
  if (!Object.values(SupervisionStrategy).includes(flags.strategy) || flags.strategy === 0) {
    throw new ChildSpecError(`${path}.flags.strategy`, `must be a SupervisionStrategy, got ${String(flags.strategy)}`);
  }
  validateFlags(flags, `${path}.flags`);
  if (!Array.isArray(spec.children)) throw new ChildSpecError(`${path}.children`, 'must be a list');
  const seen = new Set<string>();
  for (const child of spec.children) {
    const childPath = `${path}.${String(child?.id)}`;
    if (seen.has(child.id)) throw new ChildSpecError(childPath, 'is declared twice');
    seen.add(child.id);
    if (isSupervisorSpec(child)) {
      validateTree(child, childPath);
    } else {
      validateCommon(child, childPath);
      if (!child.logic || typeof child.logic.start !== 'function' || typeof child.logic.receive !== 'function') {
        throw new ChildSpecError(`${childPath}.logic`, 'must be actor logic with start() and receive()');
      }
      if (
        child.mailboxCapacity !== undefined &&
        !(Number.isInteger(child.mailboxCapacity) && child.mailboxCapacity >= 0)
      ) {
        throw new ChildSpecError(
          `${childPath}.mailboxCapacity`,
          `must be an integer >= 0, got ${String(child.mailboxCapacity)}`,
        );
      }
    }
  }
}

function validateFlags(flags: SupervisorFlags, path: string): void {
  if (!Number.isInteger(flags.intensity) || flags.intensity < 0) {
    throw new ChildSpecError(`${path}.intensity`, `must be an integer >= 0, got ${String(flags.intensity)}`);
  }
  if (!Number.isInteger(flags.maxRepeats) || flags.maxRepeats < 0) {
    throw new ChildSpecError(`${path}.maxRepeats`, `must be an integer >= 0, got ${String(flags.maxRepeats)}`);
  }
  if (!positive(flags.periodMs))
    throw new ChildSpecError(`${path}.periodMs`, `must be > 0, got ${String(flags.periodMs)}`);
  const { baseMs, maxMs, jitter, stableMs } = flags.backoff;
  if (!positive(baseMs)) throw new ChildSpecError(`${path}.backoff.baseMs`, `must be > 0, got ${String(baseMs)}`);
  if (!(maxMs >= baseMs)) throw new ChildSpecError(`${path}.backoff.maxMs`, `must be >= baseMs, got ${String(maxMs)}`);
  if (!(jitter >= 0 && jitter <= 1))
    throw new ChildSpecError(`${path}.backoff.jitter`, `must be in [0, 1], got ${String(jitter)}`);
  if (!positive(stableMs)) throw new ChildSpecError(`${path}.backoff.stableMs`, `must be > 0, got ${String(stableMs)}`);
}

function validateCommon(spec: ChildSpec, path: string): void {
  try {
    assertValidActorName(spec.id);
  } catch (error) {
    throw new ChildSpecError(`${path}.id`, (error as Error).message);
  }
  if (spec.restart !== undefined && (!Object.values(RestartPolicy).includes(spec.restart) || spec.restart === 0)) {
    throw new ChildSpecError(`${path}.restart`, `must be a RestartPolicy, got ${String(spec.restart)}`);
  }
  if (spec.shutdownMs !== undefined && !positive(spec.shutdownMs)) {
    throw new ChildSpecError(`${path}.shutdownMs`, `must be > 0, got ${String(spec.shutdownMs)}`);
  }
}
