// A bus client: one per process (or per test). It owns the publish side, the subscriptions, the breakers, the
// conservative mode and the counters, over a stream store: the embedded one, or Redis with the embedded one as
// the in-process fallback while Redis is unreachable.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { buildTelemetryPacket } from '../../contracts/telemetry.ts';
import { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import { ConservativeMode } from './conservative-mode.ts';
import { MemoryStreamStore } from './memory-store.ts';
import { COUNTERS, OonaMetrics } from './metrics.ts';
import { Publisher, type PublishOptions, type PublishResult } from './publisher.ts';
import { RedisStreamStore } from './redis-store.ts';
import { SeenLedger } from './replay-ledger.ts';
import type { BusMessage } from './routing.ts';
import type { OonaSettings } from './settings.ts';
import type { StreamStore } from './stream-store.ts';
import { Subscription, type SubscriptionSpec } from './subscription.ts';
import { TokenBucket } from './token-bucket.ts';

const { CircuitBreakerState } = leyline;

export interface OonaClientOptions {
  settings: OonaSettings;
  signing: SignatureContext;
  /** This process's name for per-source counters and telemetry (e.g. "weatherlight", "tezzeret"). */
  source: string;
  /** Consumer name within each group; unique per process. Default `<source>-<host>-<pid>`. */
  consumer?: string;
  /** A store to use instead of the one `settings.url` names (tests). */
  store?: StreamStore;
  /** Monotonic ms. Default performance.now. */
  monotonic?: () => number;
  /**
   * The process's state folder for Oona (`<varDir>/oona`): handled nonces are kept in `seen.db` there, so a
   * restarted consumer still refuses replays. Without it they are kept in memory only.
   */
  stateDir?: string;
}

export class OonaClient {
  readonly settings: OonaSettings;
  readonly store: StreamStore;
  readonly fallback: MemoryStreamStore | null;
  readonly metrics = new OonaMetrics();
  readonly conservative: ConservativeMode;
  readonly publishBreaker: CircuitBreaker;
  readonly consumer: string;
  readonly source: string;
  readonly ledger: SeenLedger | null;
  readonly #publisher: Publisher;
  readonly #subscriptions: Subscription[] = [];
  readonly #signing: SignatureContext;
  readonly #monotonic: () => number;
  readonly #ownsStore: boolean;

  constructor(options: OonaClientOptions) {
    const { settings } = options;
    this.settings = settings;
    this.source = options.source;
    this.#signing = options.signing;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.consumer = options.consumer ?? `${options.source}-${hostname().replace(/\s+/g, '-')}-${process.pid}`;
    this.ledger = options.stateDir === undefined ? null : new SeenLedger(join(options.stateDir, 'seen.db'));
    this.#pruneLedger(Date.now());
    this.#ownsStore = options.store === undefined;
    this.store =
      options.store ??
      (settings.url === 'embedded' ? new MemoryStreamStore() : new RedisStreamStore({ url: settings.url }));
    this.fallback = this.store.kind === 'embedded' ? null : new MemoryStreamStore();
    this.conservative = new ConservativeMode(settings.conservativeStableMs, this.#monotonic);
    this.publishBreaker = new CircuitBreaker('oona.publish', {
      failureThreshold: settings.breaker.failureThreshold,
      timeoutMs: settings.breaker.timeoutMs,
      clock: this.#monotonic,
    });
    this.#publisher = new Publisher({
      settings,
      store: this.store,
      fallback: this.fallback,
      signing: options.signing,
      source: options.source,
      metrics: this.metrics,
      conservative: this.conservative,
      breaker: this.publishBreaker,
      bucket: new TokenBucket(settings.emergencyMaxPerMin, this.#monotonic),
      monotonic: this.#monotonic,
    });
  }

  /**
   * Connects to the store, waiting up to `timeoutMs`. A store that does not answer is not fatal: the publish
   * breaker opens and the run goes on in process; answers whether the store answered.
   */
  async connect(timeoutMs = 2_000): Promise<boolean> {
    try {
      await this.store.connect(timeoutMs);
      await this.#publisher.refreshBacklog();
      return true;
    } catch {
      for (let i = 0; i < this.settings.breaker.failureThreshold; i += 1) this.publishBreaker.recordFailure();
      this.conservative.trigger('store_unreachable');
      return false;
    }
  }

  /** Routes, seals and queues a message; never waits on the transport (see publisher.ts). */
  publish(message: BusMessage, options?: PublishOptions): PublishResult {
    return this.#publisher.publish(message, options);
  }

  /** Resolves once every message published so far is in the store (or buffered because the store refused it). */
  flush(): Promise<void> {
    return this.#publisher.flush();
  }

  get buffered(): number {
    return this.#publisher.buffered;
  }

  /** Re-reads the depths that route publishes (a publisher otherwise learns them from its own writes). */
  refreshBacklog(): Promise<void> {
    return this.#publisher.refreshBacklog();
  }

  subscribe(spec: SubscriptionSpec): Subscription {
    const subscription = new Subscription(spec, {
      settings: this.settings,
      store: this.store,
      fallback: this.fallback,
      signing: this.#signing,
      consumer: this.consumer,
      metrics: this.metrics,
      conservative: this.conservative,
      monotonic: this.#monotonic,
      ledger: this.ledger,
    });
    this.#subscriptions.push(subscription);
    subscription.start();
    return subscription;
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    const index = this.#subscriptions.indexOf(subscription);
    if (index >= 0) this.#subscriptions.splice(index, 1);
    await subscription.stop();
  }

  /**
   * TTL housekeeping (docs/bus-and-security.md#ttl-housekeeping): drops entries older than the message TTL from every
   * stream but the dead-letter one (which keeps its own, longer TTL), with the pending references of this client's
   * groups; and the replay ledger's ids whose window is over.
   */
  async housekeeping(now = Date.now()): Promise<Record<string, number>> {
    const { streams, messageTtlMs, deadLetterTtlMs } = this.settings;
    this.#pruneLedger(now);
    const trimmed: Record<string, number> = {};
    const targets: [string, number][] = [];
    if (messageTtlMs > 0) {
      for (const [key, stream] of Object.entries(streams))
        if (key !== 'deadLetter') targets.push([stream, messageTtlMs]);
    }
    if (deadLetterTtlMs > 0) targets.push([streams.deadLetter, deadLetterTtlMs]);
    for (const [stream, ttl] of new Map(targets)) {
      const groups = this.#subscriptions.filter((s) => s.stream === stream).map((s) => s.group);
      for (const store of this.fallback ? [this.store, this.fallback] : [this.store]) {
        try {
          const n = await store.trimOlderThan(stream, now - ttl, groups);
          trimmed[stream] = (trimmed[stream] ?? 0) + n;
          this.metrics.count('housekeeping_trimmed', n);
        } catch {
          this.metrics.count('consume_errors');
        }
      }
    }
    return trimmed;
  }

  /** Counters, gauges and latency quantiles, as `oona.<name>` values (docs/bus-and-security.md#metrics). */
  async metricsSnapshot(): Promise<Record<string, number>> {
    const m = this.metrics;
    const out: Record<string, number> = {};
    for (const name of COUNTERS) out[name] = m.counters[name];
    out.queue_depth_max = m.queueDepthMax;
    // Published as oona.queue.depth: the deepest backlog now (Nissa's oona_queue_depth rule watches it).
    out['queue.depth'] = 0;
    const { streams } = this.settings;
    const depths: [string, string][] = [
      ['queue_depth_normal', streams.normal],
      ['queue_depth_emergency', streams.emergency],
      ['queue_depth_telemetry', streams.telemetry],
      ['queue_depth_policy', streams.policy],
      ['queue_depth_kernel_requests', streams.kernelRequests],
      ['queue_depth_kernel_ready', streams.kernelReady],
      ['queue_depth_kernel_errors', streams.kernelErrors],
      ['queue_depth_kernel_compile', streams.kernelCompile],
      ['queue_depth_kernel_artifacts', streams.kernelArtifacts],
      ['queue_depth_episode_requests', streams.episodeRequests],
      ['queue_depth_deadletter', streams.deadLetter],
    ];
    for (const [key, stream] of depths) {
      try {
        out[key] = await this.store.backlog(stream);
        out['queue.depth'] = Math.max(out['queue.depth'] ?? 0, out[key] ?? 0);
      } catch {
        out[key] = -1;
      }
    }
    // The publish latency against the design's 25 ms (p95), as an SLO sample for Nissa's burn rate.
    if (m.publishLatency.count > 0) {
      out['slo.publish_latency_actual'] = m.publishLatency.quantile(0.95);
      out['slo.publish_latency_objective'] = 25;
    }
    for (const [name, window] of [
      ['publish_latency_ms', m.publishLatency],
      ['delivery_latency_ms', m.deliveryLatency],
      ['handler_latency_ms', m.handlerLatency],
    ] as const) {
      out[`${name}_p50`] = window.quantile(0.5);
      out[`${name}_p95`] = window.quantile(0.95);
      out[`${name}_p99`] = window.quantile(0.99);
    }
    out.publish_breaker_state = this.publishBreaker.state;
    out.consume_breaker_state = this.#worstConsumeState();
    out.conservative_mode = this.conservative.active ? 1 : 0;
    out.buffered = this.buffered;
    for (const [source, counts] of m.emergencyBySource) {
      out[`emergency_published.src.${source}`] = counts.published;
      out[`emergency_rate_dropped.src.${source}`] = counts.rateDropped;
    }
    return out;
  }

  health(): {
    publishState: v1.CircuitBreakerState;
    consumeState: v1.CircuitBreakerState;
    conservative: boolean;
    buffered: number;
    store: string;
  } {
    return {
      publishState: this.publishBreaker.state,
      consumeState: this.#worstConsumeState(),
      conservative: this.conservative.active,
      buffered: this.buffered,
      store: this.store.kind,
    };
  }

  /** The snapshot as a TelemetryPacket (source `<source>.oona`), ready to publish. */
  async metricsTelemetry(): Promise<v1.TelemetryPacket> {
    const snapshot = await this.metricsSnapshot();
    return buildTelemetryPacket({
      packetId: `oona-${randomUUID()}`,
      source: `${this.source}.oona`,
      level:
        this.health().publishState === CircuitBreakerState.CIRCUIT_STATE_CLOSED
          ? leyline.TelemetryLevel.TELEMETRY_LEVEL_INFO
          : leyline.TelemetryLevel.TELEMETRY_LEVEL_WARNING,
      metrics: Object.entries(snapshot).map(([name, value]) => ({
        name: name.startsWith('slo.') ? name : `oona.${name}`,
        value,
      })),
    });
  }

  /** Stops the subscriptions, writes what is buffered (as far as the store takes it), closes the stores it opened. */
  async close(): Promise<void> {
    await Promise.all(this.#subscriptions.map((s) => s.stop()));
    await this.flush();
    this.#publisher.close();
    if (this.#ownsStore) await this.store.close();
    await this.fallback?.close();
    this.ledger?.close();
  }

  /** Forgets the replay ledger's ids past their window; a failure only delays that (counted). */
  #pruneLedger(now: number): void {
    try {
      this.ledger?.prune(now);
    } catch {
      this.metrics.count('replay_ledger_errors');
    }
  }

  #worstConsumeState(): v1.CircuitBreakerState {
    const states = this.#subscriptions.map((s) => s.breaker.state);
    if (states.includes(CircuitBreakerState.CIRCUIT_STATE_OPEN)) return CircuitBreakerState.CIRCUIT_STATE_OPEN;
    if (states.includes(CircuitBreakerState.CIRCUIT_STATE_HALF_OPEN))
      return CircuitBreakerState.CIRCUIT_STATE_HALF_OPEN;
    return CircuitBreakerState.CIRCUIT_STATE_CLOSED;
  }
}
