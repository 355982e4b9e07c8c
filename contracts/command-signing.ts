// Signed AdaptationCommands: Tamiyo signs, Kasmina verifies. The signature lives in annotations["signature"] and
// covers the canonical encoding of the command without that annotation; command_id is the nonce and issued_at the
// freshness stamp.
import { randomUUID } from 'node:crypto';
import { encodeLeyline, withFields } from './codec.ts';
import type { v1 } from './index.ts';
import { sign, verify, type SignatureContext } from './signing.ts';
import { millisecondsSince, toTimestamp } from './time.ts';

export const SIGNATURE_ANNOTATION = 'signature';

/** Epoch milliseconds (Date.now by default): the clock commands are stamped and judged by. */
export type WallClock = () => number;
/** Milliseconds from an arbitrary origin that never goes backwards (performance.now by default). */
export type MonotonicClock = () => number;

const wallNow: WallClock = () => Date.now();
const monotonicNow: MonotonicClock = () => performance.now();

function annotationsWithoutSignature(annotations: { [key: string]: string } | null | undefined): {
  [key: string]: string;
} {
  const rest: { [key: string]: string } = {};
  if (annotations) {
    for (const [key, value] of Object.entries(annotations)) if (key !== SIGNATURE_ANNOTATION) rest[key] = value;
  }
  return rest;
}

/**
 * Stamps and signs `command` in place, and returns it. As in the prototype, signing always gives the command a
 * fresh `commandId` (a random UUID) and `issuedAt` = now: a signature is a one-time authorisation, so re-signing
 * makes a new command with a new nonce rather than a second valid signature for an old one. Any existing
 * signature annotation is dropped before encoding; other annotations are covered by the signature.
 */
export function signCommand(
  command: v1.AdaptationCommand,
  ctx: SignatureContext,
  options: { now?: WallClock } = {},
): v1.AdaptationCommand {
  command.annotations = annotationsWithoutSignature(command.annotations);
  command.commandId = randomUUID();
  command.issuedAt = toTimestamp((options.now ?? wallNow)());
  const signature = sign(encodeLeyline(command), ctx);
  command.annotations[SIGNATURE_ANNOTATION] = signature;
  return command;
}

// ---- nonce ledger ----------------------------------------------------------------------------------------------

export interface NonceLedgerOptions {
  /** How long a nonce stays remembered; default 300 s (the prototype's value). */
  ttlMs?: number;
  /** Most nonces remembered at once; default 16384. */
  maxEntries?: number;
  clock?: MonotonicClock;
}

/**
 * Remembers recently seen nonces for `ttlMs` on a monotonic clock (wall-clock jumps cannot shorten or stretch the
 * window). Expired entries are purged on every `register`.
 *
 * Size bound: when the ledger is full after purging, the oldest nonce is evicted (and counted). That is safe as
 * long as the evicted nonce is older than the verifier's freshness window (60 s), because a replay of it is then
 * rejected as stale anyway; with the default 16384 entries that holds up to ~270 commands per second, two orders
 * of magnitude above Tamiyo's rate (a few per epoch). Failing closed instead would let a flood of fresh commands
 * lock out legitimate ones.
 */
export class NonceLedger {
  readonly ttlMs: number;
  readonly maxEntries: number;
  private readonly clock: MonotonicClock;
  private readonly seen = new Set<string>();
  // A FIFO of (nonce, registered at) in registration order, which on a monotonic clock is also expiry order:
  // purging and eviction only ever pop the front, so both are O(1) per nonce. (Deleting from the front of a
  // Map instead leaves holes that every later iteration walks over: ~10 µs per register when full.)
  private nonces: string[] = [];
  private times: number[] = [];
  private head = 0;
  private evictedCount = 0;

  constructor(options: NonceLedgerOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 16_384);
    this.clock = options.clock ?? monotonicNow;
  }

  /** Records `nonce`. True when it is new; false when it was already registered within the TTL (a replay). */
  register(nonce: string): boolean {
    const now = this.clock();
    while (this.head < this.nonces.length && now - (this.times[this.head] as number) >= this.ttlMs) this.popOldest();
    if (this.seen.has(nonce)) return false;
    while (this.seen.size >= this.maxEntries) {
      this.popOldest();
      this.evictedCount += 1;
    }
    this.seen.add(nonce);
    this.nonces.push(nonce);
    this.times.push(now);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Nonces dropped early because the ledger was full. */
  get evicted(): number {
    return this.evictedCount;
  }

  private popOldest(): void {
    this.seen.delete(this.nonces[this.head] as string);
    this.head += 1;
    // Reclaim the consumed front now and then (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.nonces.length) {
      this.nonces = this.nonces.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

// ---- verifier --------------------------------------------------------------------------------------------------

/** Every verdict, in the order the checks run. */
export const COMMAND_VERDICTS = [
  'missing_signature',
  'invalid_signature',
  'missing_command_id',
  'nonce_replayed',
  'missing_timestamp',
  'issued_in_future',
  'stale_command',
  'ok',
] as const;
export type CommandVerdict = (typeof COMMAND_VERDICTS)[number];

export interface CommandVerification {
  readonly accepted: boolean;
  /** `ok` when accepted; otherwise the first check that failed. */
  readonly reason: CommandVerdict;
}

export interface CommandVerifierOptions {
  /** Judges issued_at; default Date.now. */
  wallClock?: WallClock;
  /** Default: a NonceLedger with the default TTL on `monotonicClock`. */
  ledger?: NonceLedger;
  monotonicClock?: MonotonicClock;
  /** How far issued_at may be ahead of our clock; default 5 s. Exactly this much is accepted. */
  maxFutureSkewMs?: number;
  /** How old a command may be; default 60 s. Exactly this old is accepted. */
  freshnessWindowMs?: number;
}

/**
 * Kasmina's gate for commands. Checks, in order, and reports exactly one reason:
 * missing_signature, invalid_signature, missing_command_id, nonce_replayed, missing_timestamp, issued_in_future,
 * stale_command, else ok.
 *
 * The nonce is registered before the time checks (as in the prototype), so a correctly signed but stale or
 * future-dated command still uses up its command id. Unlike the prototype, missing_timestamp is checked *before*
 * the future/stale checks: the prototype checked it after them, where it could never fire (a missing issued_at
 * reads as the epoch and was reported as stale).
 */
export class CommandVerifier {
  private readonly ctx: SignatureContext;
  private readonly wallClock: WallClock;
  private readonly ledger: NonceLedger;
  private readonly maxFutureSkewMs: number;
  private readonly freshnessWindowMs: number;
  private readonly counts = Object.fromEntries(COMMAND_VERDICTS.map((verdict) => [verdict, 0])) as Record<
    CommandVerdict,
    number
  >;

  constructor(ctx: SignatureContext, options: CommandVerifierOptions = {}) {
    this.ctx = ctx;
    this.wallClock = options.wallClock ?? wallNow;
    this.ledger = options.ledger ?? new NonceLedger({ clock: options.monotonicClock ?? monotonicNow });
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? 5_000;
    this.freshnessWindowMs = options.freshnessWindowMs ?? 60_000;
  }

  /** Judges `command` without modifying it. Never throws. */
  verify(command: v1.AdaptationCommand): CommandVerification {
    let reason: CommandVerdict;
    try {
      reason = this.check(command);
    } catch {
      // Only a value that is not a well-formed command can get here (e.g. a field of the wrong JS type).
      reason = 'invalid_signature';
    }
    this.counts[reason] += 1;
    return { accepted: reason === 'ok', reason };
  }

  /** How many commands ended with each verdict (a copy). */
  counters(): Readonly<Record<CommandVerdict, number>> {
    return { ...this.counts };
  }

  private check(command: v1.AdaptationCommand): CommandVerdict {
    const signature = command.annotations?.[SIGNATURE_ANNOTATION];
    if (typeof signature !== 'string' || signature === '') return 'missing_signature';
    const unsigned = withFields(command, { annotations: annotationsWithoutSignature(command.annotations) });
    if (!verify(encodeLeyline(unsigned), signature, this.ctx)) return 'invalid_signature';
    if (!command.commandId) return 'missing_command_id';
    if (!this.ledger.register(command.commandId)) return 'nonce_replayed';
    const issuedAt = command.issuedAt;
    if (issuedAt === null || issuedAt === undefined) return 'missing_timestamp';
    const ageMs = millisecondsSince(issuedAt, this.wallClock());
    if (-ageMs > this.maxFutureSkewMs) return 'issued_in_future';
    if (ageMs > this.freshnessWindowMs) return 'stale_command';
    return 'ok';
  }
}
