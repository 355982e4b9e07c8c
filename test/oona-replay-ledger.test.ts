// Replay protection across restarts: the ledger's rules (pure), its SQLite table, a bus client restarted on the same
// state folder, and a Nissa restarted on the same folder over Redis (a replayed field report is stored once).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { leyline, type v1 } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';
import { MemoryStreamStore } from '../actors/oona/memory-store.ts';
import { OonaClient } from '../actors/oona/oona-client.ts';
import { judge, rememberUntil, replayWindowMs, SeenLedger } from '../actors/oona/replay-ledger.ts';
import { StoreOpenError } from '../runtime/sqlite.ts';
import { resolveOonaConfig } from '../actors/oona/settings.ts';
import type { EntryFields } from '../actors/oona/stream-store.ts';
import { DocumentStore } from '../actors/nissa/document-store.ts';
import { servingConfig } from '../actors/weatherlight/serve.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import defaults from '../esper.config.ts';
import { EventLog, eventually } from './helpers/events.ts';
import { RedisServer, redisServerAvailable } from './helpers/redis-server.ts';

const { BusMessageType: T } = leyline;
const secret = 'replay-ledger-secret';
const signing = new SignatureContext(secret);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'esper-replay-'));
}

test('the rules: an id is remembered for the freshness window from its stamp (from now when unstamped), a replay only inside it', (t) => {
  t.is(replayWindowMs({ messageTtlMs: 900_000 }), 900_000, 'the message TTL is the freshness window');
  t.is(replayWindowMs({ messageTtlMs: 0 }), 3_600_000, 'no TTL: an hour, as in memory');
  t.is(rememberUntil(10_000, 12_000, 1_000), 11_000, 'stamped: the copy goes stale at issued + window');
  t.is(rememberUntil(null, 12_000, 1_000), 13_000, 'unstamped: from when it was handled');
  t.is(judge(undefined, 5), 'accept', 'never seen');
  t.is(judge(11_000, 10_999), 'replay', 'seen, inside the window');
  t.is(judge(11_000, 11_000), 'accept', 'the window is over (a copy would be stale now)');
});

test('the SQLite ledger: remembered per scope, kept across a reopen, pruned past the window, the later expiry wins', (t) => {
  const path = join(tempDir(), 'oona', 'seen.db');
  const first = new SeenLedger(path);
  first.remember('oona.normal/nissa', [
    { key: 'n1', until: 1_000 },
    { key: 'n2', until: 2_000 },
  ]);
  first.remember('oona.normal/nissa', [{ key: 'n1', until: 500 }]);
  t.is(first.verdict('oona.normal/nissa', 'n1', 900), 'replay', 'an earlier expiry does not shorten a row');
  t.is(first.verdict('oona.normal/simic', 'n1', 900), 'accept', 'another group has its own memory');
  first.close();

  const reopened = new SeenLedger(path);
  t.is(
    reopened.verdict('oona.normal/nissa', 'n2', 1_500),
    'replay',
    'a new connection (a restarted process) still knows it',
  );
  t.is(reopened.prune(1_000), 1, 'n1 is past its window');
  t.is(reopened.rememberedUntil('oona.normal/nissa', 'n1'), undefined);
  t.is(reopened.rememberedUntil('oona.normal/nissa', 'n2'), 2_000);
  t.is(reopened.size, 1);
  reopened.close();
});

test('a ledger file that is not a database stops with an error naming the file', (t) => {
  const dir = tempDir();
  const path = join(dir, 'seen.db');
  writeFileSync(path, 'not a database, just some text long enough to have a header '.repeat(20));
  const error = t.throws(() => new SeenLedger(path).verdict('s', 'k', 0), { instanceOf: StoreOpenError });
  t.true(error?.message.includes(path), error?.message);
  t.regex(error?.message ?? '', /replay ledger.*move it aside/);
});

function state(epoch: number): v1.SystemStatePacket {
  return leyline.SystemStatePacket.create({
    version: 1,
    currentEpoch: epoch,
    packetId: `state-${epoch}`,
    sourceSubsystem: 'tolaria',
  });
}

/** The first entry's fields as stored, read through a group of the test's own. */
async function rawFirst(store: MemoryStreamStore, stream: string): Promise<EntryFields> {
  await store.ensureGroup(stream, 'peek', '0');
  const [entry] = await store.reader().read(stream, 'peek', 'peek', 1, 0);
  if (!entry) throw new Error(`${stream} is empty`);
  return entry.fields;
}

test('a consumer restarted on the same state folder refuses (and counts) a replay of what it handled; one with an empty folder would not', async (t) => {
  const store = new MemoryStreamStore();
  const settings = resolveOonaConfig({ retryIdleMs: 40 });
  const stream = settings.streams.normal;
  const stateDir = tempDir();
  const consumer = (dir: string | undefined, handled: EventLog<number>): OonaClient => {
    const client = new OonaClient({ settings, signing, source: 'replay', store, ...(dir ? { stateDir: dir } : {}) });
    client.subscribe({
      stream,
      group: 'g',
      blockMs: 20,
      handler: (message) => handled.push((message as v1.SystemStatePacket).currentEpoch),
    });
    return client;
  };

  const before = new EventLog<number>();
  const first = consumer(stateDir, before);
  await eventually(async () => (await store.backlog(stream)) === 0, 'the group');
  first.publish(state(7));
  await first.flush();
  await before.waitFor((epoch) => epoch === 7);
  await eventually(async () => (await store.pending(stream, 'g')) === 0, 'the ack');
  await first.close();
  const fields = await rawFirst(store, stream);

  const after = new EventLog<number>();
  const second = consumer(stateDir, after);
  await store.add([{ stream, fields }]);
  await eventually(() => second.metrics.counters.duplicate_total === 1, 'the replay refused and counted');
  await eventually(async () => (await store.pending(stream, 'g')) === 0, 'the replay acknowledged');
  t.deepEqual(after.seen, [], 'the restarted consumer did not handle it again');
  t.is(second.metrics.counters.consumed_total, 0);
  await second.close();

  // The same replay to a consumer whose state folder is empty: accepted (what the ledger prevents).
  const forgetful = new EventLog<number>();
  const third = consumer(tempDir(), forgetful);
  await store.add([{ stream, fields }]);
  await forgetful.waitFor((epoch) => epoch === 7);
  await third.close();
});

test("housekeeping prunes the ledger's ids once their window is over", async (t) => {
  const store = new MemoryStreamStore();
  const settings = resolveOonaConfig({ messageTtlMs: 60_000 });
  const client = new OonaClient({ settings, signing, source: 'prune', store, stateDir: tempDir() });
  const handled = new EventLog<number>();
  client.subscribe({
    stream: settings.streams.normal,
    group: 'g',
    blockMs: 20,
    handler: (m) => handled.push((m as v1.SystemStatePacket).currentEpoch),
  });
  await eventually(async () => (await store.backlog(settings.streams.normal)) === 0, 'the group');
  const issued = Date.now();
  client.publish(state(1));
  await client.flush();
  await handled.waitFor(() => true);
  await eventually(async () => (await store.pending(settings.streams.normal, 'g')) === 0, 'the ack');
  const ledger = client.ledger as SeenLedger;
  t.is(ledger.size, 1);
  await client.housekeeping(issued + 30_000);
  t.is(ledger.size, 1, 'inside the window: kept');
  await client.housekeeping(Date.now() + 60_000);
  t.is(ledger.size, 0, 'past the window: a copy would be stale, the id goes');
  await client.close();
});

test('a ledger that cannot be read leaves the entry pending, unhandled, and counts it', async (t) => {
  const store = new MemoryStreamStore();
  const settings = resolveOonaConfig({ retryIdleMs: 60_000 });
  const client = new OonaClient({ settings, signing, source: 'broken', store, stateDir: tempDir() });
  const handled = new EventLog<number>();
  client.subscribe({
    stream: settings.streams.normal,
    group: 'g',
    blockMs: 20,
    handler: (m) => handled.push((m as v1.SystemStatePacket).currentEpoch),
  });
  await eventually(async () => (await store.backlog(settings.streams.normal)) === 0, 'the group');
  client.ledger?.close();
  client.publish(state(3));
  await client.flush();
  await eventually(() => client.metrics.counters.replay_ledger_errors === 1, 'the ledger error counted');
  t.is(await store.pending(settings.streams.normal, 'g'), 1, 'not acknowledged: it comes back once the ledger answers');
  t.deepEqual(handled.seen, []);
  await client.close();
});

const withRedis = redisServerAvailable() ? test.serial : test.skip;

withRedis('Nissa restarted on the same folder refuses a replayed field report: it is stored once', async (t) => {
  t.timeout(120_000);
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const varDir = tempDir();
  const env = { ...process.env, ESPER_LEYLINE_SECRET: secret };
  const config = servingConfig(
    { ...defaults, run: { ...defaults.run, varDir }, nissa: { ...defaults.nissa, port: 0 } },
    'nissa',
    server.url,
  );
  const producer = new OonaClient({ settings: resolveOonaConfig({ url: server.url }), signing, source: 'producer' });
  const stream = producer.settings.streams.normal;
  /** The nissa group on oona.normal: what it has been handed and what is still unacknowledged. */
  const group = async (): Promise<{ lastDelivered: string; pending: number } | null> => {
    const groups = (await redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
    for (const flat of groups) {
      const info = Object.fromEntries(
        Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[2 * i]), flat[2 * i + 1]]),
      );
      if (info.name === 'nissa')
        return { lastDelivered: String(info['last-delivered-id']), pending: Number(info.pending) };
    }
    return null;
  };
  const fieldReports = (): number => {
    const documents = new DocumentStore(join(varDir, 'nissa', 'documents.db'), 0);
    try {
      return documents.query({ kind: T.BUS_MESSAGE_TYPE_FIELD_REPORT }).length;
    } finally {
      documents.close();
    }
  };
  try {
    await producer.connect();
    const first = await startWeatherlight(config, { env });
    await eventually(async () => (await group()) !== null, 'the nissa group on oona.normal');
    const report = leyline.FieldReport.create({
      reportId: 'fr-replayed',
      trainingRunId: 'run-1',
      issuedAt: toTimestamp(Date.now()),
      outcome: leyline.FieldReportOutcome.FIELD_REPORT_OUTCOME_SUCCESS,
    });
    t.true(producer.publish(report).ok);
    await producer.flush();
    const [[id, flat]] = (await redis.xrangeBuffer(stream, '-', '+')) as [[Buffer, Buffer[]]];
    await eventually(
      async () => (await group())?.lastDelivered === id.toString() && (await group())?.pending === 0,
      'the report handled and acknowledged',
    );
    await first.shutdown();
    t.is(fieldReports(), 1, 'stored once by the first Nissa');

    // The same signed entry written again (inside its freshness window), and Nissa started again on the folder.
    const replayId = await redis.xadd(stream, '*', ...flat);
    const second = await startWeatherlight(config, { env });
    await eventually(
      async () => (await group())?.lastDelivered === replayId && (await group())?.pending === 0,
      'the replay read and acknowledged',
    );
    await second.shutdown();
    t.is(fieldReports(), 1, 'the replay was refused: still stored once');
    const payload = flat[flat.findIndex((field) => field.toString() === 'payload') + 1] as Buffer;
    const nonce = leyline.BusEnvelope.decode(payload).attributes.nonce ?? '';
    const ledger = new SeenLedger(join(varDir, 'oona', 'seen.db'));
    t.truthy(ledger.rememberedUntil(`${stream}/nissa`, nonce), "the report's nonce is on disk, in Nissa's scope");
    ledger.close();
  } finally {
    await producer.close();
    redis.disconnect();
    await server.stop();
  }
});
