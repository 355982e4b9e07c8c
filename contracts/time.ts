// google.protobuf.Timestamp <-> milliseconds. Every Leyline instant is a Timestamp on the wire; inside the
// process we reason in epoch milliseconds (what Date.now() returns), so these two helpers are the only crossing.
import { google } from './generated/leyline.js';

export type Timestamp = google.protobuf.Timestamp;

/** The shape of a Timestamp as any decoded or hand-built message holds it (fields may be absent). */
export interface TimestampLike {
  seconds?: number | null;
  nanos?: number | null;
}

/**
 * A Timestamp for an instant given as a Date or epoch milliseconds. Fractions of a millisecond become nanos, as
 * exact as the double allows: at present-day magnitudes (~1.7e12 ms) that is about 0.24 µs.
 */
export function toTimestamp(instant: Date | number): Timestamp {
  const ms = instant instanceof Date ? instant.getTime() : instant;
  if (!Number.isFinite(ms)) throw new RangeError(`toTimestamp: not a finite instant: ${String(instant)}`);
  // floor, not trunc: protobuf keeps nanos in [0, 1e9) also before 1970.
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return google.protobuf.Timestamp.create({ seconds, nanos });
}

/**
 * Epoch nanoseconds (a uint64 field such as SystemStatePacket.timestamp_ns) for an instant in epoch milliseconds,
 * exact for whole milliseconds: a bigint, because today's nanosecond clock is past 2^53. A fraction of a
 * millisecond is kept as exactly as the double holds it.
 */
export function epochNanoseconds(ms: number = Date.now()): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`epochNanoseconds: not a finite instant: ${String(ms)}`);
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** A Timestamp for epoch nanoseconds, exactly. */
export function timestampFromNanoseconds(ns: bigint): Timestamp {
  const seconds = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  return google.protobuf.Timestamp.create({ seconds: Number(seconds), nanos: Number(ns - seconds * 1_000_000_000n) });
}

/** Epoch milliseconds of a Timestamp (fractional when nanos are not whole milliseconds). */
export function fromTimestamp(ts: TimestampLike): number {
  return (ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}

/**
 * `nowMs − ts` in milliseconds, computed without adding the large seconds term to the fraction first, so the
 * result keeps sub-microsecond precision (needed for exact freshness-window edges).
 */
export function millisecondsSince(ts: TimestampLike, nowMs: number): number {
  return nowMs - (ts.seconds ?? 0) * 1000 - (ts.nanos ?? 0) / 1e6;
}
