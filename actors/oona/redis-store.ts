// The Redis Streams store (ioredis 5). Commands fail fast while Redis is unreachable (no offline queue, one try
// per command): the bus decides what to do with a failure (breakers, local buffer), not the client library,
// which keeps reconnecting in the background. Payloads are read as Buffers: BusEnvelope bytes are binary.
import { Redis } from 'ioredis';
import {
  StreamStoreError,
  type AddRequest,
  type EntryFields,
  type StreamEntry,
  type StreamReader,
  type StreamStore,
} from './stream-store.ts';

export interface RedisStoreOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Give up connecting after this long per attempt. Default 2 000 ms. */
  connectTimeoutMs?: number;
}

export class RedisStreamStore implements StreamStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #readers = new Set<Redis>();
  readonly #options: RedisStoreOptions;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.#redis = connect(options);
  }

  get url(): string {
    return this.#options.url;
  }

  async connect(timeoutMs: number): Promise<void> {
    await this.#run('connect', () => whenReady(this.#redis, timeoutMs));
  }

  async ensureGroup(stream: string, group: string, from: '$' | '0' = '$'): Promise<void> {
    await this.#run('ensureGroup', () =>
      this.#redis.xgroup('CREATE', stream, group, from, 'MKSTREAM').catch((error: Error) => {
        if (error.message.startsWith('BUSYGROUP')) return 'OK';
        throw error;
      }),
    );
  }

  async add(requests: readonly AddRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const request of requests) {
      const args: (string | Buffer | number)[] = [request.stream];
      if (request.maxLen) args.push('MAXLEN', '~', request.maxLen);
      args.push('*');
      for (const [key, value] of Object.entries(request.fields)) args.push(key, value);
      pipeline.call('XADD', ...args);
    }
    const results = await this.#run('add', () => pipeline.exec());
    return (results ?? []).map(([error, id]) => {
      if (error) throw new StreamStoreError('add', error);
      return String(id);
    });
  }

  async claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    count: number,
  ): Promise<StreamEntry[]> {
    const claimed: StreamEntry[] = [];
    let cursor = '0-0';
    for (;;) {
      const reply = (await this.#run('claim', () =>
        this.#redis.callBuffer(
          'XAUTOCLAIM',
          stream,
          group,
          consumer,
          minIdleMs,
          cursor,
          'COUNT',
          count - claimed.length,
        ),
      )) as [Buffer, [Buffer, Buffer[] | null][]];
      const [next, entries] = reply;
      for (const [id, flat] of entries)
        if (flat) claimed.push({ id: id.toString(), fields: toFields(flat), deliveries: 0 });
      cursor = next.toString();
      if (cursor === '0-0' || claimed.length >= count || entries.length === 0) break;
    }
    if (claimed.length === 0) return claimed;
    // XAUTOCLAIM counted this delivery; XPENDING answers the totals for the claimed range (all now ours).
    const first = claimed[0] as StreamEntry;
    const last = claimed[claimed.length - 1] as StreamEntry;
    const details = (await this.#run('claim', () =>
      this.#redis.xpending(stream, group, first.id, last.id, claimed.length * 2 + 10, consumer),
    )) as [string, string, number, number][];
    const counts = new Map(details.map(([id, , , deliveries]) => [id, Number(deliveries)]));
    for (const entry of claimed) entry.deliveries = counts.get(entry.id) ?? 1;
    return claimed;
  }

  async keep(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<number> {
    let kept = 0;
    for (const id of ids) {
      // Only an entry still ours (XPENDING names its consumer); XCLAIM … 0 JUSTID restarts its idle time, uncounted.
      const owner = (await this.#run('keep', () => this.#redis.xpending(stream, group, id, id, 1))) as [
        string,
        string,
        number,
        number,
      ][];
      if (owner[0]?.[1] !== consumer) continue;
      const claimed = (await this.#run('keep', () =>
        this.#redis.xclaim(stream, group, consumer, 0, id, 'JUSTID'),
      )) as string[];
      kept += claimed.length;
    }
    return kept;
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.#run('ack', () => this.#redis.xack(stream, group, ...ids));
  }

  async length(stream: string): Promise<number> {
    return this.#run('length', () => this.#redis.xlen(stream));
  }

  async pending(stream: string, group: string): Promise<number> {
    const summary = (await this.#run('pending', () =>
      this.#redis.xpending(stream, group).catch((error: Error) => {
        if (error.message.startsWith('NOGROUP')) return [0];
        throw error;
      }),
    )) as [number, ...unknown[]];
    return Number(summary[0]);
  }

  async backlog(stream: string): Promise<number> {
    const groups = (await this.#run('backlog', () =>
      this.#redis.call('XINFO', 'GROUPS', stream).catch((error: Error) => {
        if (error.message.startsWith('ERR no such key')) return [];
        throw error;
      }),
    )) as unknown[][];
    if (groups.length === 0) return this.length(stream);
    let worst = 0;
    for (const flat of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
      // lag is null when Redis cannot tell (entries deleted mid-range): count the whole stream then.
      const lag = info.get('lag');
      const undelivered = lag === null || lag === undefined ? await this.length(stream) : Number(lag);
      worst = Math.max(worst, undelivered + Number(info.get('pending') ?? 0));
    }
    return worst;
  }

  async trimOlderThan(stream: string, minTimeMs: number, groups: readonly string[]): Promise<number> {
    const minId = `${Math.max(0, Math.floor(minTimeMs))}-0`;
    for (const group of groups) {
      // Pending references of entries about to go: acknowledged, so no consumer waits on a vanished entry.
      for (;;) {
        const stale = (await this.#run('trim', () =>
          this.#redis.xpending(stream, group, '-', `(${minId}`, 1000).catch((error: Error) => {
            if (error.message.startsWith('NOGROUP')) return [];
            throw error;
          }),
        )) as [string, ...unknown[]][];
        if (stale.length === 0) break;
        await this.ack(
          stream,
          group,
          stale.map(([id]) => id),
        );
        if (stale.length < 1000) break;
      }
    }
    return this.#run('trim', () => this.#redis.xtrim(stream, 'MINID', minId));
  }

  reader(): StreamReader {
    const connection = connect(this.#options);
    this.#readers.add(connection);
    return {
      read: async (stream, group, consumer, count, blockMs) => {
        const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', count];
        if (blockMs > 0) args.push('BLOCK', blockMs);
        args.push('STREAMS', stream, '>');
        const reply = (await this.#run('read', () => connection.callBuffer('XREADGROUP', ...args), connection)) as
          | [Buffer, [Buffer, Buffer[]][]][]
          | null;
        if (!reply) return [];
        const out: StreamEntry[] = [];
        for (const [, entries] of reply)
          for (const [id, flat] of entries) out.push({ id: id.toString(), fields: toFields(flat), deliveries: 1 });
        return out;
      },
      close: async () => {
        this.#readers.delete(connection);
        connection.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    for (const reader of this.#readers) reader.disconnect();
    this.#readers.clear();
    this.#redis.disconnect();
  }

  async #run<T>(operation: string, command: () => Promise<T>, connection = this.#redis): Promise<T> {
    try {
      // A command before the first connection waits for it; after that, an unreachable Redis fails at once.
      if (!everReady.has(connection)) await whenReady(connection, this.#options.connectTimeoutMs ?? 2_000);
      return await command();
    } catch (error) {
      throw error instanceof StreamStoreError ? error : new StreamStoreError(operation, error);
    }
  }
}

const everReady = new WeakSet<Redis>();

function whenReady(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') {
    everReady.add(connection);
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off('ready', ready);
      reject(new Error(`no connection to Redis within ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = (): void => {
      clearTimeout(timer);
      everReady.add(connection);
      resolve();
    };
    connection.once('ready', ready);
  });
}

function connect(options: RedisStoreOptions): Redis {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
    // A queued or blocked command fails on disconnect instead of waiting for a reconnection.
    autoResendUnfulfilledCommands: false,
  });
  // Connection errors surface as failed commands; the 'error' event only needs a listener to stay quiet.
  redis.on('error', () => undefined);
  return redis;
}

function toFields(flat: readonly Buffer[]): EntryFields {
  const fields: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[(flat[i] as Buffer).toString()] = flat[i + 1] as Buffer;
  return fields;
}
