// The embedded stream store: Redis Streams semantics in process memory (ids, consumer groups, pending lists with
// delivery counts, XAUTOCLAIM, approximate MAXLEN, MINID trimming, blocking reads). Nothing to install; nothing survives
// the process, which is what an embedded bus promises.
import {
  StreamStoreError,
  type AddRequest,
  type EntryFields,
  type StreamEntry,
  type StreamReader,
  type StreamStore,
} from './stream-store.ts';

interface Stored {
  id: string;
  ms: number;
  fields: EntryFields;
}

interface PendingEntry {
  consumer: string;
  deliveredAt: number;
  deliveries: number;
}

interface Group {
  /** Absolute index (see Stream.base) of the next entry to deliver. */
  next: number;
  pending: Map<string, PendingEntry>;
}

interface Stream {
  entries: Stored[];
  /** Absolute index of entries[0]: entries trimmed so far. */
  base: number;
  lastMs: number;
  lastSeq: number;
  groups: Map<string, Group>;
  waiters: Set<() => void>;
}

export interface MemoryStoreOptions {
  /** Epoch ms, for entry ids and idle times. Default Date.now. */
  clock?: () => number;
}

export class MemoryStreamStore implements StreamStore {
  readonly kind = 'embedded' as const;
  readonly #streams = new Map<string, Stream>();
  readonly #clock: () => number;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  async connect(): Promise<void> {
    this.#open('connect');
  }

  async ensureGroup(stream: string, group: string, from: '$' | '0' = '$'): Promise<void> {
    const s = this.#stream(stream);
    if (!s.groups.has(group))
      s.groups.set(group, { next: from === '0' ? s.base : s.base + s.entries.length, pending: new Map() });
  }

  async add(requests: readonly AddRequest[]): Promise<string[]> {
    this.#open('add');
    return requests.map((request) => this.addNow(request));
  }

  /** Synchronous append, for the embedded bus's publish path (never waits). */
  addNow(request: AddRequest): string {
    this.#open('add');
    const s = this.#stream(request.stream);
    const now = this.#clock();
    if (now > s.lastMs) {
      s.lastMs = now;
      s.lastSeq = 0;
    } else {
      s.lastSeq += 1;
    }
    const id = `${s.lastMs}-${s.lastSeq}`;
    const fields: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(request.fields))
      fields[key] = typeof value === 'string' ? Buffer.from(value) : value;
    s.entries.push({ id, ms: s.lastMs, fields });
    // Approximate, as Redis's `MAXLEN ~`: trimmed in batches of an eighth of the limit, so a full stream does not
    // shift its whole array on every append.
    if (request.maxLen && s.entries.length > request.maxLen + Math.max(1, request.maxLen >> 3))
      this.#dropFront(s, s.entries.length - request.maxLen);
    for (const wake of s.waiters) wake();
    s.waiters.clear();
    return id;
  }

  async claim(
    stream: string,
    groupName: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]> {
    this.#open('claim');
    const s = this.#stream(stream);
    const group = this.#group(s, groupName, stream);
    const now = this.#clock();
    const claimed: StreamEntry[] = [];
    for (const [id, entry] of group.pending) {
      if (claimed.length >= count) break;
      if (now - entry.deliveredAt < minIdleMs) continue;
      const stored = this.#find(s, id);
      if (!stored) {
        group.pending.delete(id);
        continue;
      }
      entry.consumer = consumer;
      entry.deliveredAt = now;
      entry.deliveries += 1;
      claimed.push({ id, fields: stored.fields, deliveries: entry.deliveries });
    }
    return claimed;
  }

  async keep(stream: string, groupName: string, consumer: string, ids: readonly string[]): Promise<number> {
    this.#open('keep');
    const group = this.#group(this.#stream(stream), groupName, stream);
    const now = this.#clock();
    let kept = 0;
    for (const id of ids) {
      const entry = group.pending.get(id);
      if (entry?.consumer !== consumer) continue;
      entry.deliveredAt = now;
      kept += 1;
    }
    return kept;
  }

  async ack(stream: string, groupName: string, ids: readonly string[]): Promise<number> {
    this.#open('ack');
    const group = this.#stream(stream).groups.get(groupName);
    if (!group) return 0;
    let acked = 0;
    for (const id of ids) if (group.pending.delete(id)) acked += 1;
    return acked;
  }

  async length(stream: string): Promise<number> {
    this.#open('length');
    return this.#streams.get(stream)?.entries.length ?? 0;
  }

  async pending(stream: string, groupName: string): Promise<number> {
    this.#open('pending');
    return this.#streams.get(stream)?.groups.get(groupName)?.pending.size ?? 0;
  }

  async backlog(stream: string): Promise<number> {
    this.#open('backlog');
    return this.backlogNow(stream);
  }

  /** `backlog`, synchronously (the embedded publish path routes without waiting). */
  backlogNow(stream: string): number {
    const s = this.#streams.get(stream);
    if (!s) return 0;
    if (s.groups.size === 0) return s.entries.length;
    const end = s.base + s.entries.length;
    let worst = 0;
    for (const group of s.groups.values())
      worst = Math.max(worst, end - Math.max(group.next, s.base) + group.pending.size);
    return worst;
  }

  async trimOlderThan(stream: string, minTimeMs: number, groups: readonly string[]): Promise<number> {
    this.#open('trim');
    const s = this.#streams.get(stream);
    if (!s) return 0;
    let n = 0;
    while (n < s.entries.length && (s.entries[n] as Stored).ms < minTimeMs) n += 1;
    if (n > 0) this.#dropFront(s, n, groups);
    return n;
  }

  reader(): StreamReader {
    return {
      read: (stream, group, consumer, count, blockMs) => this.#read(stream, group, consumer, count, blockMs),
      close: async () => undefined,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#streams.values()) {
      for (const wake of s.waiters) wake();
      s.waiters.clear();
    }
  }

  async #read(
    stream: string,
    groupName: string,
    consumer: string,
    count: number,
    blockMs: number,
  ): Promise<StreamEntry[]> {
    this.#open('read');
    const s = this.#stream(stream);
    const group = this.#group(s, groupName, stream);
    if (s.base + s.entries.length <= group.next && blockMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, blockMs);
        function done(): void {
          clearTimeout(timer);
          s.waiters.delete(done);
          resolve();
        }
        s.waiters.add(done);
      });
      this.#open('read');
    }
    const start = Math.max(group.next, s.base);
    const end = Math.min(s.base + s.entries.length, start + count);
    const now = this.#clock();
    const out: StreamEntry[] = [];
    for (let i = start; i < end; i += 1) {
      const stored = s.entries[i - s.base] as Stored;
      group.pending.set(stored.id, { consumer, deliveredAt: now, deliveries: 1 });
      out.push({ id: stored.id, fields: stored.fields, deliveries: 1 });
    }
    group.next = Math.max(group.next, end);
    return out;
  }

  /** Removes the oldest `n` entries; with `groups`, also their pending references in those groups. */
  #dropFront(s: Stream, n: number, groups: readonly string[] = []): void {
    const dropped = s.entries.splice(0, n);
    s.base += n;
    for (const name of groups) {
      const group = s.groups.get(name);
      if (group) for (const entry of dropped) group.pending.delete(entry.id);
    }
  }

  #find(s: Stream, id: string): Stored | undefined {
    let lo = 0;
    let hi = s.entries.length - 1;
    const [ms, seq] = splitId(id);
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [m, q] = splitId((s.entries[mid] as Stored).id);
      if (m === ms && q === seq) return s.entries[mid];
      if (m < ms || (m === ms && q < seq)) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  #stream(name: string): Stream {
    let s = this.#streams.get(name);
    if (!s) {
      s = { entries: [], base: 0, lastMs: 0, lastSeq: 0, groups: new Map(), waiters: new Set() };
      this.#streams.set(name, s);
    }
    return s;
  }

  #group(s: Stream, name: string, stream: string): Group {
    const group = s.groups.get(name);
    if (!group) throw new StreamStoreError('read', new Error(`NOGROUP no group ${name} on stream ${stream}`));
    return group;
  }

  #open(operation: string): void {
    if (this.#closed) throw new StreamStoreError(operation, new Error('the embedded store is closed'));
  }
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
