// Actor runtime: throughput and ask latency through our layer (Leyline payloads, guard on, bounded mailbox,
// dead-letter and supervision bookkeeping) against raw nact with plain objects, measured in the same run.
//
// Throughput: one sender floods one actor with N messages; the clock stops when the actor has handled the
// last. Rounds alternate between the two systems and the median of each is reported.
// Ask: sequential round trips (request → reply) to one actor; p50 and p99. The baseline is nact's own
// `query`, which is what our `ask` replaces.
import nact from 'nact';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { median, percentile, report } from './report.ts';

const BENCH = 'actors';
const MESSAGES = 200_000;
const ROUNDS = 7;
const ASKS = 20_000;

type Done = (elapsedNs: bigint) => void;

async function oursThroughput(): Promise<number> {
  const system = new ActorSystem({ name: 'bench-ours', defaultMailboxCapacity: MESSAGES + 1 });
  let finish!: Done;
  const done = new Promise<bigint>((resolve) => {
    finish = resolve;
  });
  let start = 0n;
  const counter: ActorLogic<number, v1.MetricPoint> = {
    kind: 'counter',
    accepts: [leyline.MetricPoint],
    start: () => 0,
    receive(count) {
      const next = count + 1;
      if (next === MESSAGES) finish(process.hrtime.bigint() - start);
      return next;
    },
  };
  const ref = system.spawn(null, counter, { name: 'counter' });
  await system.whenStarted(ref);
  const message = leyline.MetricPoint.create({ name: 'loss', value: 0.5 });
  start = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) system.dispatch(ref, message);
  const elapsed = await done;
  await system.shutdown();
  return MESSAGES / (Number(elapsed) / 1e9);
}

async function nactThroughput(): Promise<number> {
  const system = nact.start({ name: 'bench-nact' } as never);
  let finish!: Done;
  const done = new Promise<bigint>((resolve) => {
    finish = resolve;
  });
  let start = 0n;
  const ref = nact.spawn(
    system,
    (count: number) => {
      const next = count + 1;
      if (next === MESSAGES) finish(process.hrtime.bigint() - start);
      return next;
    },
    'counter',
    { initialState: 0 } as never,
  );
  const message = { name: 'loss', value: 0.5 };
  start = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) nact.dispatch(ref, message as never);
  const elapsed = await done;
  nact.stop(system);
  return MESSAGES / (Number(elapsed) / 1e9);
}

async function oursAskMicros(): Promise<number[]> {
  const system = new ActorSystem({ name: 'bench-ours-ask' });
  const echo: ActorLogic<null, v1.MetricPoint> = {
    kind: 'echo',
    start: () => null,
    receive(state, message, ctx) {
      ctx.reply(message);
      return state;
    },
  };
  const ref = system.spawn(null, echo, { name: 'echo' });
  await system.whenStarted(ref);
  const message = leyline.MetricPoint.create({ name: 'ping' });
  const samples: number[] = [];
  for (let i = 0; i < ASKS; i++) {
    const start = process.hrtime.bigint();
    await system.ask(ref, message, leyline.MetricPoint, 1_000);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  await system.shutdown();
  return samples;
}

async function nactQueryMicros(): Promise<number[]> {
  const system = nact.start({ name: 'bench-nact-ask' } as never);
  const ref = nact.spawn(
    system,
    (state: null, message: { sender: Parameters<typeof nact.dispatch>[0] }) => {
      nact.dispatch(message.sender, message as never);
      return state;
    },
    'echo',
  );
  const samples: number[] = [];
  for (let i = 0; i < ASKS; i++) {
    const start = process.hrtime.bigint();
    await nact.query(ref, (sender: unknown) => ({ name: 'ping', sender }) as never, 1_000);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  nact.stop(system);
  return samples;
}

export async function run(): Promise<void> {
  // Warm both paths before measuring.
  await oursThroughput();
  await nactThroughput();
  const ours: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(await oursThroughput());
    raw.push(await nactThroughput());
  }
  report(BENCH, 'messages_per_s_leyline_guarded_vs_raw_nact', median(ours), 'msg/s', median(raw));

  await oursAskMicros();
  await nactQueryMicros();
  const ask = await oursAskMicros();
  const query = await nactQueryMicros();
  report(BENCH, 'ask_round_trip_p50_vs_nact_query', percentile(ask, 50), 'us', percentile(query, 50));
  report(BENCH, 'ask_round_trip_p99_vs_nact_query', percentile(ask, 99), 'us', percentile(query, 99));
}
