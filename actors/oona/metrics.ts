// Oona's counters and latency windows, under the prototype's metric names plus this project's
// (docs/bus-and-security.md#metrics): every silent path of the prototype (bad signatures, undecodable entries, drops)
// is counted here.
import { SampleWindow } from '../../runtime/quantile.ts';

export const COUNTERS = [
  'publish_total',
  'publish_rerouted',
  'publish_dropped',
  'publish_errors',
  'publish_oversized',
  'conservative_shed',
  'buffer_dropped',
  'buffered_total',
  'breaker_publish_open',
  'breaker_consume_open',
  'emergency_published',
  'emergency_rate_dropped',
  'consumed_total',
  'consume_errors',
  'handler_errors',
  'retry_total',
  'dead_letter_total',
  'duplicate_total',
  'replay_ledger_errors',
  'unexpected_type',
  'other_type_skipped',
  'entry_no_payload',
  'signature_fail_total',
  'undecodable_total',
  'stale_dropped',
  'unstamped_dropped',
  'kernel_stale_dropped',
  'kernel_replay_dropped',
  'kernel_invalid_dropped',
  'ack_errors',
  'housekeeping_trimmed',
] as const;

export type Counter = (typeof COUNTERS)[number];

export class OonaMetrics {
  readonly counters = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as Record<Counter, number>;
  /** Publish → written to the stream store (ms). */
  readonly publishLatency = new SampleWindow(2_048);
  /** Envelope issued → handler done (ms), across processes (wall clocks). */
  readonly deliveryLatency = new SampleWindow(2_048);
  readonly handlerLatency = new SampleWindow(2_048);
  readonly emergencyBySource = new Map<string, { published: number; rateDropped: number }>();
  queueDepthMax = 0;

  count(name: Counter, by = 1): void {
    this.counters[name] += by;
  }

  emergency(source: string, outcome: 'published' | 'rateDropped'): void {
    const key = sanitiseSource(source);
    const entry = this.emergencyBySource.get(key) ?? { published: 0, rateDropped: 0 };
    entry[outcome] += 1;
    this.emergencyBySource.set(key, entry);
  }
}

/** A source name as a metric key part: `[A-Za-z0-9_-]`, others become `_`; empty becomes `unknown`. */
export function sanitiseSource(source: string): string {
  return source.replace(/[^A-Za-z0-9_-]/g, '_') || 'unknown';
}
