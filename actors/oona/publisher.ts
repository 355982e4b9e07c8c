// The publish side of a bus client. `publish` is synchronous and never waits on the transport: it routes, seals
// and queues the envelope, and a single writer drains the queue in pipelined batches. While the store cannot
// take writes (Redis down: the publish breaker is open) the queue is the local buffer — bounded, lowest priority
// dropped first and counted — and each message is also delivered through the in-process fallback store, so the
// run goes on; when the store answers again the buffer is flushed in order (consumers dedupe by nonce).
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import type { CircuitBreaker } from '../../runtime/circuit-breaker.ts';
import type { ConservativeMode } from './conservative-mode.ts';
import { ATTR_SOURCE, sealEnvelope } from './envelope.ts';
import type { MemoryStreamStore } from './memory-store.ts';
import type { OonaMetrics } from './metrics.ts';
import { busTypeOf, isUrgent, preferredStream, priorityOf, sourceOf, type BusMessage } from './routing.ts';
import type { OonaSettings } from './settings.ts';
import type { AddRequest, StreamStore } from './stream-store.ts';
import type { TokenBucket } from './token-bucket.ts';

export interface PublishOptions {
  /** Route to the emergency stream whatever the message's own priority. */
  emergency?: boolean;
  /** Overrides the priority read from the message (telemetry's declared or derived priority). */
  priority?: v1.MessagePriority;
}

export type PublishRefusal = 'oversized' | 'backpressure' | 'emergency_rate' | 'shed' | 'buffer_full';

export type PublishResult =
  | { ok: true; stream: string; nonce: string; rerouted: boolean }
  | { ok: false; reason: PublishRefusal; detail: string };

interface Outgoing {
  request: AddRequest;
  priority: v1.MessagePriority;
  queuedAt: number;
  /** Already delivered through the fallback store. */
  local: boolean;
}

export interface PublisherDeps {
  settings: OonaSettings;
  store: StreamStore;
  /** In-process delivery while `store` is unreachable; null when `store` is itself the embedded store. */
  fallback: MemoryStreamStore | null;
  signing: SignatureContext;
  source: string;
  metrics: OonaMetrics;
  conservative: ConservativeMode;
  breaker: CircuitBreaker;
  bucket: TokenBucket;
  monotonic: () => number;
}

const BATCH = 512;

export class Publisher {
  readonly #d: PublisherDeps;
  readonly #queue: Outgoing[] = [];
  readonly #backlog = new Map<string, number>();
  #writing: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: PublisherDeps) {
    this.#d = deps;
  }

  /** Messages waiting for the store (the local buffer while it is down). */
  get buffered(): number {
    return this.#queue.length;
  }

  publish(message: BusMessage, options: PublishOptions = {}): PublishResult {
    const { settings, metrics, conservative } = this.#d;
    const { streams } = settings;
    const priority = options.priority ?? priorityOf(message);
    const source = sourceOf(message) === 'unknown' ? this.#d.source : sourceOf(message);
    const isTelemetry = message instanceof leyline.TelemetryPacket;
    if (conservative.active && isTelemetry && !isUrgent(priority)) {
      metrics.count('conservative_shed');
      return { ok: false, reason: 'shed', detail: 'conservative mode sheds routine telemetry' };
    }
    const preferred = preferredStream(message, streams);
    let target = preferred;
    let rerouted = false;
    if (options.emergency || (isTelemetry && isUrgent(priority))) {
      target = streams.emergency;
      rerouted = true;
    } else {
      const backlog = this.#backlogOf(preferred);
      metrics.queueDepthMax = Math.max(metrics.queueDepthMax, backlog);
      const drop = settings.backpressureDropThreshold;
      if (drop > 0 && (preferred === streams.normal || preferred === streams.kernelRequests) && backlog >= drop) {
        metrics.count('publish_dropped');
        return { ok: false, reason: 'backpressure', detail: `${preferred} backlog ${backlog} ≥ ${drop}` };
      }
      if (settings.emergencyThreshold > 0 && preferred === streams.normal && backlog >= settings.emergencyThreshold) {
        target = streams.emergency;
        rerouted = true;
        conservative.trigger('backlog');
      }
    }
    if (target === streams.emergency) {
      if (!this.#d.bucket.take()) {
        metrics.count('emergency_rate_dropped');
        metrics.emergency(source, 'rateDropped');
        return {
          ok: false,
          reason: 'emergency_rate',
          detail: `over ${settings.emergencyMaxPerMin} emergency publishes per minute`,
        };
      }
      metrics.count('emergency_published');
      metrics.emergency(source, 'published');
    }
    const Type = message.constructor as unknown as { encode(m: BusMessage): { finish(): Uint8Array } };
    const sealed = sealEnvelope(busTypeOf(message), Type.encode(message).finish(), this.#d.signing, {
      [ATTR_SOURCE]: source,
    });
    // An episode request carries its policy's weights, a result every decision's field report.
    const bulk =
      message instanceof leyline.PolicyUpdate ||
      message instanceof leyline.KernelArtifact ||
      message instanceof leyline.EpisodeRequest ||
      message instanceof leyline.EpisodeResult;
    const limit = bulk ? settings.maxBulkEnvelopeBytes : settings.maxEnvelopeBytes;
    if (sealed.bytes > limit) {
      metrics.count('publish_oversized');
      return {
        ok: false,
        reason: 'oversized',
        detail: `${message.constructor.name} envelope of ${sealed.bytes} bytes > ${limit}`,
      };
    }
    if (rerouted) metrics.count('publish_rerouted');
    const trimmed = target === streams.normal || target === streams.kernelRequests;
    const request: AddRequest = {
      stream: target,
      fields: sealed.fields,
      ...(trimmed && settings.maxStreamLength ? { maxLen: settings.maxStreamLength } : {}),
    };
    if (!this.#enqueue({ request, priority, queuedAt: this.#d.monotonic(), local: false })) {
      return {
        ok: false,
        reason: 'buffer_full',
        detail: `local buffer full (${settings.bufferCapacity}) with messages of higher priority`,
      };
    }
    return { ok: true, stream: target, nonce: sealed.nonce, rerouted };
  }

  /** Resolves when everything queued so far has been written, or the store refused it (it stays buffered). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#queue.length > 0 && !this.#closed) {
      this.#writing = this.#drain().finally(() => {
        this.#writing = null;
      });
      await this.#writing;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #enqueue(item: Outgoing): boolean {
    const { store, fallback, settings, metrics } = this.#d;
    if (this.#isEmbedded(store)) {
      // The embedded store takes the write at once: no queue, no wait.
      store.addNow(item.request);
      metrics.count('publish_total');
      metrics.publishLatency.record(this.#d.monotonic() - item.queuedAt);
      this.#backlog.set(item.request.stream, store.backlogNow(item.request.stream));
      return true;
    }
    if (this.#queue.length >= settings.bufferCapacity) {
      let victim = -1;
      for (let i = 0; i < this.#queue.length; i += 1) {
        if (
          (this.#queue[i] as Outgoing).priority < item.priority &&
          (victim < 0 || (this.#queue[i] as Outgoing).priority < (this.#queue[victim] as Outgoing).priority)
        )
          victim = i;
      }
      metrics.count('buffer_dropped');
      if (victim < 0) return false;
      this.#queue.splice(victim, 1);
    }
    if (fallback && this.#d.breaker.isOpen) {
      fallback.addNow(item.request);
      item.local = true;
    }
    if (this.#d.breaker.isOpen) metrics.count('buffered_total');
    this.#queue.push(item);
    if (!this.#writing && !this.#retryTimer) {
      this.#writing = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.#drain())
        .finally(() => {
          this.#writing = null;
        });
    }
    return true;
  }

  async #drain(): Promise<void> {
    const { store, metrics, breaker, conservative, fallback } = this.#d;
    while (this.#queue.length > 0 && !this.#closed) {
      if (!breaker.allow()) {
        metrics.count('breaker_publish_open');
        conservative.trigger('publish_breaker_open');
        this.#deliverLocally();
        this.#retryLater();
        return;
      }
      const batch = this.#queue.slice(0, BATCH);
      try {
        await store.add(batch.map((item) => item.request));
      } catch {
        breaker.recordFailure();
        metrics.count('publish_errors');
        conservative.trigger('publish_error');
        if (fallback) this.#deliverLocally();
        this.#retryLater();
        return;
      }
      breaker.recordSuccess();
      this.#queue.splice(0, batch.length);
      const now = this.#d.monotonic();
      const touched = new Set<string>();
      for (const item of batch) {
        metrics.publishLatency.record(now - item.queuedAt);
        touched.add(item.request.stream);
      }
      metrics.count('publish_total', batch.length);
      await this.#refreshBacklog(touched);
    }
  }

  /** Every buffered message not yet delivered in process goes through the fallback store now. */
  #deliverLocally(): void {
    const { fallback } = this.#d;
    if (!fallback) return;
    for (const item of this.#queue) {
      if (item.local) continue;
      fallback.addNow(item.request);
      item.local = true;
    }
  }

  #retryLater(): void {
    if (this.#retryTimer || this.#closed) return;
    // While the breaker is closed, failures are counted quickly (so it can open); once open, its timeout paces retries.
    const delay = this.#d.breaker.isOpen ? Math.min(1_000, this.#d.breaker.timeoutMs) : 50;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.flush();
    }, delay);
    this.#retryTimer.unref();
  }

  /** Re-reads the backlog of the streams whose depth routes publishes (at connect, and on the bus's timer). */
  refreshBacklog(): Promise<void> {
    const { streams } = this.#d.settings;
    return this.#refreshBacklog([streams.normal, streams.kernelRequests]);
  }

  async #refreshBacklog(streams: Iterable<string>): Promise<void> {
    for (const stream of streams) {
      try {
        const backlog = await this.#d.store.backlog(stream);
        this.#backlog.set(stream, backlog);
        this.#d.metrics.queueDepthMax = Math.max(this.#d.metrics.queueDepthMax, backlog);
      } catch {
        // A depth we could not read keeps its last value; the next write refreshes it.
      }
    }
  }

  #backlogOf(stream: string): number {
    const { store } = this.#d;
    return this.#isEmbedded(store) ? store.backlogNow(stream) : (this.#backlog.get(stream) ?? 0);
  }

  #isEmbedded(store: StreamStore): store is MemoryStreamStore {
    return store.kind === 'embedded';
  }
}
