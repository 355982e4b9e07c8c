// Kernel traffic's freshness and replay windows (docs/bus-and-security.md#kernel-traffic-windows): a prefetch request
// needs a request id and an issued_at within the window (and not more than 5 s ahead); a request id, or a ready/error
// answer's id, counts as seen only once its handler succeeded — the prototype registered it first, so a retried kernel
// message was dropped as its own replay and kernel traffic was at most once.
import { leyline } from '../../contracts/index.ts';
import { fromTimestamp } from '../../contracts/time.ts';
import { MAX_FUTURE_SKEW_MS } from './envelope.ts';
import { RecentIds } from './recent-ids.ts';
import type { BusMessage } from './routing.ts';

export type KernelVerdict =
  | { ok: true; key: string | null }
  | { ok: false; reason: 'kernel_stale' | 'kernel_replay' | 'kernel_invalid'; detail: string };

export class KernelGuard {
  readonly #requests: RecentIds<true>;
  readonly #responses: RecentIds<true>;

  constructor(
    readonly windowMs: number,
    cacheSize: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#requests = new RecentIds(cacheSize, 0);
    this.#responses = new RecentIds(cacheSize, 0);
  }

  check(message: BusMessage): KernelVerdict {
    if (message instanceof leyline.KernelPrefetchRequest) {
      if (!message.requestId)
        return { ok: false, reason: 'kernel_invalid', detail: 'prefetch request without request_id' };
      const issued = message.issuedAt ? fromTimestamp(message.issuedAt) : 0;
      if (!issued)
        return { ok: false, reason: 'kernel_stale', detail: `request ${message.requestId} has no issued_at` };
      const now = this.now();
      if (issued > now + MAX_FUTURE_SKEW_MS)
        return {
          ok: false,
          reason: 'kernel_stale',
          detail: `request ${message.requestId} issued ${issued - now} ms ahead`,
        };
      if (this.windowMs > 0 && issued < now - this.windowMs)
        return {
          ok: false,
          reason: 'kernel_stale',
          detail: `request ${message.requestId} issued ${now - issued} ms ago`,
        };
      if (this.#requests.has(message.requestId))
        return { ok: false, reason: 'kernel_replay', detail: `request ${message.requestId} seen before` };
      return { ok: true, key: `req:${message.requestId}` };
    }
    if (message instanceof leyline.KernelArtifactReady || message instanceof leyline.KernelArtifactError) {
      if (!message.requestId)
        return { ok: false, reason: 'kernel_invalid', detail: 'kernel answer without request_id' };
      if (this.#responses.has(message.requestId))
        return { ok: false, reason: 'kernel_replay', detail: `answer to ${message.requestId} seen before` };
      return { ok: true, key: `res:${message.requestId}` };
    }
    return { ok: true, key: null };
  }

  /** After the handler succeeded. */
  handled(key: string | null): void {
    if (!key) return;
    if (key.startsWith('req:')) this.#requests.set(key.slice(4), true);
    else this.#responses.set(key.slice(4), true);
  }
}
