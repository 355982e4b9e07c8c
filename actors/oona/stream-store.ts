// What Oona needs from a stream store: the Redis Streams operations it uses, as one small interface with two
// implementations, the embedded one (memory-store.ts) and Redis (redis-store.ts). The client (oona-client.ts)
// holds the bus's behaviour; a store only keeps entries, consumer groups and pending lists.

/** An entry's fields as stored: `payload` (BusEnvelope bytes) and `signature` (base64), or anything a peer wrote. */
export type EntryFields = Readonly<Record<string, Buffer>>;

export interface StreamEntry {
  /** `<ms>-<seq>`, assigned by the store. */
  id: string;
  fields: EntryFields;
  /** Times the entry was handed to a consumer of the group, this delivery included (1 on a first read). */
  deliveries: number;
}

export interface AddRequest {
  stream: string;
  fields: Readonly<Record<string, Buffer | string>>;
  /** Trim the stream to about this many entries (0: no trim). */
  maxLen?: number;
}

/** A reader holds its own connection (Redis blocks one connection per blocking read). */
export interface StreamReader {
  /** New entries for `consumer` of `group` (XREADGROUP … >), waiting up to `blockMs` when none (0: do not wait). */
  read(stream: string, group: string, consumer: string, count: number, blockMs: number): Promise<StreamEntry[]>;
  close(): Promise<void>;
}

export interface StreamStore {
  readonly kind: 'embedded' | 'redis';
  /** Waits until the store answers (Redis: connected); rejects after `timeoutMs`. */
  connect(timeoutMs: number): Promise<void>;
  /**
   * Creates the group (MKSTREAM) at the stream's end (`$`), or at its start (`0`: when re-creating a group a
   * restarted Redis lost, so entries written since are not skipped); an existing group is kept.
   */
  ensureGroup(stream: string, group: string, from?: '$' | '0'): Promise<void>;
  /** Appends entries in order, in one round trip; answers their ids. */
  add(requests: readonly AddRequest[]): Promise<string[]>;
  /** Moves entries pending longer than `minIdleMs` (any consumer's) to `consumer` and answers them (XAUTOCLAIM). */
  claim(stream: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]>;
  /**
   * Restarts the idle time of entries `consumer` still holds (a long handler's heartbeat, so they are not claimed
   * from under it); entries another consumer took meanwhile are left to it. No delivery is counted. Answers how many
   * it kept.
   */
  keep(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<number>;
  ack(stream: string, group: string, ids: readonly string[]): Promise<number>;
  /** Retained entries, acknowledged or not (XLEN). */
  length(stream: string): Promise<number>;
  /** Entries delivered to the group and not yet acknowledged (XPENDING). */
  pending(stream: string, group: string): Promise<number>;
  /**
   * What the stream's slowest group has still to finish: undelivered plus unacknowledged entries (the retained
   * length when the stream has no group). Backpressure reads this, not XLEN, which counts acknowledged entries.
   */
  backlog(stream: string): Promise<number>;
  /** Drops entries older than `minTimeMs` (XTRIM MINID) and their pending references; answers how many went. */
  trimOlderThan(stream: string, minTimeMs: number, groups: readonly string[]): Promise<number>;
  reader(): StreamReader;
  close(): Promise<void>;
}

/** A store failure (connection lost, command refused): the bus's breakers count these, nothing else. */
export class StreamStoreError extends Error {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`stream store ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StreamStoreError';
  }
}
