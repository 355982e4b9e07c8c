// The consume side: one loop per subscription (stream + consumer group + handler). Each round hands the handler
// first the entries whose delivery went stale (XAUTOCLAIM: failed earlier, or left by a crashed consumer), then new
// ones (XREADGROUP >). Delivery is at least once; a message's nonce marks it handled, so a copy (a redelivery after
// a lost ack, or the Redis copy of a message already delivered in process) is acknowledged without running again.
// With a replay ledger (replay-ledger.ts) the handled nonces are also kept on disk, written before the batch is
// acknowledged, so a consumer that restarts still refuses a copy of what it handled before.
// A handler failure leaves the entry pending: it comes back after `retryIdleMs`, and after `retryMaxAttempts`
// deliveries it goes to the dead-letter stream. Transport errors and handler failures count on the subscription's
// own consume breaker; while it is open the loop reads the in-process fallback store (when there is one).
import { leyline, type v1 } from '../../contracts/index.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import { createLogger } from '../../runtime/log.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import type { ConservativeMode } from './conservative-mode.ts';
import { ATTR_NONCE, openEnvelope, sealEnvelope, type OpenFailure } from './envelope.ts';
import { KernelGuard } from './kernel-guard.ts';
import type { MemoryStreamStore } from './memory-store.ts';
import type { Counter, OonaMetrics } from './metrics.ts';
import { RecentIds } from './recent-ids.ts';
import { rememberUntil, replayWindowMs, type SeenId, type SeenLedger } from './replay-ledger.ts';
import { decodeBusPayload, knownBusType, type BusMessage } from './routing.ts';
import type { OonaSettings } from './settings.ts';
import { StreamStoreError, type StreamEntry, type StreamReader, type StreamStore } from './stream-store.ts';

const log = createLogger('oona');

export interface Delivery {
  stream: string;
  id: string;
  type: v1.BusMessageType;
  attributes: Readonly<Record<string, string>>;
  /** This delivery's number (1 = first). */
  attempt: number;
}

export type BusHandler = (message: BusMessage, delivery: Delivery) => void | Promise<void>;

export interface SubscriptionSpec {
  stream: string;
  group: string;
  handler: BusHandler;
  /** Message types the handler takes; others are acknowledged and counted (`other_type_skipped`). Default: all. */
  types?: readonly v1.BusMessageType[];
  count?: number;
  blockMs?: number;
  /**
   * Called on an entry whose signature does not verify, which is then left pending instead of acknowledged: for a
   * group whose every message is work (esper serve episodes), a consumer with the wrong secret must not eat the
   * work of the group; another consumer claims the entry after `retryIdleMs`. Default: acknowledged and counted.
   */
  onBadSignature?: (detail: string) => void;
}

export interface SubscriptionDeps {
  settings: OonaSettings;
  store: StreamStore;
  fallback: MemoryStreamStore | null;
  signing: SignatureContext;
  consumer: string;
  metrics: OonaMetrics;
  conservative: ConservativeMode;
  monotonic: () => number;
  /** The process's durable memory of handled nonces (null: memory only). */
  ledger: SeenLedger | null;
}

const OPEN_FAILURE_COUNTER: Record<OpenFailure, Counter> = {
  missing_payload: 'entry_no_payload',
  bad_signature: 'signature_fail_total',
  undecodable: 'undecodable_total',
  unstamped: 'unstamped_dropped',
  stale: 'stale_dropped',
  future: 'stale_dropped',
};

export class Subscription {
  readonly breaker: CircuitBreaker;
  readonly #spec: Required<Omit<SubscriptionSpec, 'types' | 'onBadSignature'>> & {
    types: ReadonlySet<number> | null;
    onBadSignature: ((detail: string) => void) | null;
  };
  readonly #d: SubscriptionDeps;
  readonly #handled: RecentIds<true>;
  /** The ledger's scope for this subscription: one consumer group on one stream. */
  readonly #scope: string;
  /** Handled in the current batch, written to the ledger before the batch is acknowledged. */
  #unrecorded: SeenId[] = [];
  readonly #kernel: KernelGuard;
  readonly #readers = new Map<StreamStore, StreamReader>();
  readonly #groupsReady = new Set<StreamStore>();
  readonly #everReady = new Set<StreamStore>();
  #stopped = false;
  #lastClaim = Number.NEGATIVE_INFINITY;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #lastSignatureLog = Number.NEGATIVE_INFINITY;

  constructor(spec: SubscriptionSpec, deps: SubscriptionDeps) {
    this.#d = deps;
    this.#spec = {
      stream: spec.stream,
      group: spec.group,
      handler: spec.handler,
      types: spec.types ? new Set(spec.types) : null,
      count: spec.count ?? 50,
      blockMs: spec.blockMs ?? 500,
      onBadSignature: spec.onBadSignature ?? null,
    };
    const { settings } = deps;
    this.breaker = new CircuitBreaker(`oona.consume.${spec.stream}.${spec.group}`, {
      failureThreshold: settings.breaker.failureThreshold,
      timeoutMs: settings.breaker.timeoutMs,
      clock: deps.monotonic,
    });
    // Handled nonces are kept as long as a copy could still arrive: the message TTL (or an hour without one).
    this.#handled = new RecentIds(100_000, replayWindowMs(settings), deps.monotonic);
    this.#scope = `${spec.stream}/${spec.group}`;
    this.#kernel = new KernelGuard(settings.kernelFreshnessWindowMs, settings.kernelNonceCacheSize);
  }

  get stream(): string {
    return this.#spec.stream;
  }

  get group(): string {
    return this.#spec.group;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Ends the loop. A handler still running after `graceMs` is left behind: its message stays pending and is
   * delivered again later (to this group), so a stuck handler cannot hold up a shutdown.
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    for (const reader of this.#readers.values()) await reader.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const { store, fallback } = this.#d;
      const primary = !fallback || this.breaker.allow();
      if (!primary) this.#d.metrics.count('breaker_consume_open');
      const source = primary ? store : (fallback as MemoryStreamStore);
      let entries: StreamEntry[];
      try {
        await this.#ensureGroup(source);
        entries = await this.#fetch(source);
      } catch (error) {
        if (this.#stopped) break;
        if (primary) this.breaker.recordFailure();
        this.#d.metrics.count('consume_errors');
        this.#d.conservative.trigger('consume_error');
        if (error instanceof StreamStoreError && /NOGROUP/.test(error.message)) this.#groupsReady.delete(source);
        failures += 1;
        // With a fallback the next round reads it (once the breaker is open) instead of waiting; without one, back off.
        if (!fallback || !primary) await this.#pause(Math.min(1_000, 50 * 2 ** Math.min(failures, 5)));
        continue;
      }
      failures = 0;
      const handlerFailures = await this.#handle(source, entries, primary);
      if (primary) {
        // A read that worked, and handlers that did: a success (in HALF_OPEN, the trial's). Failed handlers count.
        if (handlerFailures === 0) this.breaker.recordSuccess();
        for (let i = 0; i < handlerFailures; i += 1) this.breaker.recordFailure();
      }
    }
  }

  async #ensureGroup(source: StreamStore): Promise<void> {
    if (this.#groupsReady.has(source)) return;
    // A group starts at the stream's end, except: on the fallback store, which only ever holds what was published
    // during an outage (all of it to be delivered); and when re-created after a first creation (a Redis restarted
    // without its data lost it), so entries written before this consumer came back are still delivered.
    const fromStart = source === this.#d.fallback || this.#everReady.has(source);
    await source.ensureGroup(this.#spec.stream, this.#spec.group, fromStart ? '0' : '$');
    this.#groupsReady.add(source);
    this.#everReady.add(source);
  }

  async #fetch(source: StreamStore): Promise<StreamEntry[]> {
    const { settings, consumer } = this.#d;
    const { stream, group, count } = this.#spec;
    const now = this.#d.monotonic();
    let claimed: StreamEntry[] = [];
    if (now - this.#lastClaim >= Math.min(1_000, settings.retryIdleMs / 2)) {
      this.#lastClaim = now;
      claimed = await source.claim(stream, group, consumer, settings.retryIdleMs, settings.retryBatchSize);
    }
    let reader = this.#readers.get(source);
    if (!reader) {
      reader = source.reader();
      this.#readers.set(source, reader);
    }
    // With stale entries in hand, look for new ones without waiting.
    const fresh = await reader.read(stream, group, consumer, count, claimed.length > 0 ? 0 : this.#spec.blockMs);
    return claimed.concat(fresh);
  }

  /** Delivers a batch and acknowledges what is done with; answers how many handlers failed. */
  async #handle(source: StreamStore, entries: readonly StreamEntry[], primary: boolean): Promise<number> {
    const { metrics } = this.#d;
    const acks: string[] = [];
    let failures = 0;
    for (const entry of entries) {
      const verdict = await this.#deliver(source, entry);
      if (verdict === 'failed' || verdict === 'failed-final') failures += 1;
      if (verdict !== 'failed') acks.push(entry.id);
      if (verdict === 'handled') metrics.count('consumed_total');
    }
    this.#record();
    if (acks.length === 0) return failures;
    try {
      await source.ack(this.#spec.stream, this.#spec.group, acks);
    } catch {
      // The entries stay pending and come back; their nonces are marked handled, so they are only acknowledged then.
      metrics.count('ack_errors');
      if (primary) this.breaker.recordFailure();
    }
    return failures;
  }

  /**
   * What became of one entry: handled, skipped (acknowledged without the handler), or failed (its handler threw;
   * left pending for a retry, or dead-lettered and acknowledged on its last attempt: 'failed-final').
   */
  async #deliver(source: StreamStore, entry: StreamEntry): Promise<'handled' | 'skipped' | 'failed' | 'failed-final'> {
    const { metrics, settings } = this.#d;
    const opened = openEnvelope(entry.fields, {
      signing: this.#d.signing,
      acceptUnstamped: settings.acceptUnstamped,
      maxAgeMs: settings.messageTtlMs,
    });
    if (!opened.ok) {
      metrics.count(OPEN_FAILURE_COUNTER[opened.reason]);
      if (opened.reason === 'bad_signature') this.#logSignatureFailure(entry, opened.detail);
      if (opened.reason === 'bad_signature' && this.#spec.onBadSignature) {
        this.#spec.onBadSignature(opened.detail);
        return 'failed';
      }
      if (opened.reason === 'undecodable') await this.#deadLetter(source, entry, null, `undecodable: ${opened.detail}`);
      return 'skipped';
    }
    const { envelope, nonce } = opened;
    const key = nonce ?? `${this.#spec.stream}/${entry.id}`;
    let replay: boolean;
    try {
      replay = this.#handled.has(key) || this.#d.ledger?.verdict(this.#scope, key, Date.now()) === 'replay';
    } catch (error) {
      // Not knowing whether it is a replay, it is not handled: it stays pending and comes back.
      metrics.count('replay_ledger_errors');
      log.error(`replay ledger unreadable; ${this.#spec.stream} ${entry.id} left pending: ${String(error)}`, {
        group: this.#spec.group,
      });
      return 'failed';
    }
    if (replay) {
      metrics.count('duplicate_total');
      return 'skipped';
    }
    if (!knownBusType(envelope.messageType)) {
      metrics.count('unexpected_type');
      await this.#deadLetter(source, entry, envelope, `unknown message type ${envelope.messageType}`);
      return 'skipped';
    }
    if (this.#spec.types && !this.#spec.types.has(envelope.messageType)) {
      // A shared stream carries other types for other groups: passing them by is normal, counted apart.
      metrics.count('other_type_skipped');
      return 'skipped';
    }
    let message: BusMessage;
    try {
      message = decodeBusPayload(envelope.messageType, envelope.payload);
    } catch (error) {
      metrics.count('undecodable_total');
      await this.#deadLetter(
        source,
        entry,
        envelope,
        `payload is not a ${leyline.BusMessageType[envelope.messageType]}: ${String(error)}`,
      );
      return 'skipped';
    }
    const kernel = this.#kernel.check(message);
    if (!kernel.ok) {
      metrics.count(
        kernel.reason === 'kernel_stale'
          ? 'kernel_stale_dropped'
          : kernel.reason === 'kernel_replay'
            ? 'kernel_replay_dropped'
            : 'kernel_invalid_dropped',
      );
      return 'skipped';
    }
    if (entry.deliveries > settings.retryMaxAttempts) {
      await this.#deadLetter(source, entry, envelope, `delivered ${entry.deliveries - 1} times without success`);
      return 'skipped';
    }
    const started = this.#d.monotonic();
    try {
      await this.#spec.handler(message, {
        stream: this.#spec.stream,
        id: entry.id,
        type: envelope.messageType,
        attributes: envelope.attributes,
        attempt: entry.deliveries,
      });
    } catch (error) {
      metrics.count('handler_errors');
      if (entry.deliveries >= settings.retryMaxAttempts) {
        await this.#deadLetter(
          source,
          entry,
          envelope,
          `handler failed ${entry.deliveries} times: ${error instanceof Error ? error.message : String(error)}`,
        );
        return 'failed-final';
      }
      metrics.count('retry_total');
      this.#d.conservative.trigger('retry');
      return 'failed';
    }
    metrics.handlerLatency.record(this.#d.monotonic() - started);
    if (opened.issuedAtMs !== null) metrics.deliveryLatency.record(Math.max(0, Date.now() - opened.issuedAtMs));
    this.#handled.set(key, true);
    this.#unrecorded.push({ key, until: rememberUntil(opened.issuedAtMs, Date.now(), replayWindowMs(settings)) });
    this.#kernel.handled(kernel.key);
    return 'handled';
  }

  /** Writes the batch's handled nonces to the ledger (before the acks). A failure is counted and logged, not fatal. */
  #record(): void {
    const ids = this.#unrecorded;
    this.#unrecorded = [];
    const { ledger, metrics } = this.#d;
    if (!ledger || ids.length === 0) return;
    try {
      ledger.remember(this.#scope, ids);
    } catch (error) {
      // The messages were handled; this process still refuses their copies (memory), a restarted one would not.
      metrics.count('replay_ledger_errors');
      log.error(`replay ledger not written (${ids.length} handled ids of ${this.#scope}): ${String(error)}`);
    }
  }

  /** Keeps the entry, with why and where it came from, on the dead-letter stream of the store it was read from. */
  async #deadLetter(
    source: StreamStore,
    entry: StreamEntry,
    envelope: v1.BusEnvelope | null,
    reason: string,
  ): Promise<void> {
    const { settings, metrics, signing } = this.#d;
    const attributes: Record<string, string> = {
      ...(envelope?.attributes ?? {}),
      attempt: String(entry.deliveries),
      dead_letter_reason: reason,
      origin_stream: this.#spec.stream,
      origin_id: entry.id,
      origin_group: this.#spec.group,
    };
    if (envelope?.attributes[ATTR_NONCE]) attributes.origin_nonce = envelope.attributes[ATTR_NONCE];
    delete attributes[ATTR_NONCE];
    const sealed = sealEnvelope(
      envelope?.messageType ?? leyline.BusMessageType.BUS_MESSAGE_TYPE_UNSPECIFIED,
      envelope?.payload ?? entry.fields.payload ?? new Uint8Array(),
      signing,
      attributes,
    );
    try {
      await source.add([{ stream: settings.streams.deadLetter, fields: sealed.fields }]);
      metrics.count('dead_letter_total');
      log.warn(`dead-lettered ${this.#spec.stream} ${entry.id}: ${reason}`, { group: this.#spec.group });
    } catch (error) {
      // Not written: the entry is acknowledged anyway (it cannot succeed); the loss is counted and logged.
      metrics.count('consume_errors');
      log.error(`could not dead-letter ${this.#spec.stream} ${entry.id}: ${String(error)}`, { reason });
    }
  }

  #logSignatureFailure(entry: StreamEntry, detail: string): void {
    const now = this.#d.monotonic();
    if (now - this.#lastSignatureLog < 10_000) return;
    this.#lastSignatureLog = now;
    log.warn(`rejected ${this.#spec.stream} ${entry.id}: ${detail} (further rejections counted, logged every 10 s)`);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = (): void => done();
      this.#wake = wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
