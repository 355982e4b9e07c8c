// The prefetch protocol through an ActorSystem: KernelPrefetchRequest in, KernelArtifactReady (p50/p95 of the
// stored pre-warm samples, guard digest, fresh checksum) or KernelArtifactError (each reason) out to the reply-to
// actor; stale, future, replayed and id-less requests dropped and counted. Plus the pure quantile.
import test from 'ava';
import { unlinkSync, writeFileSync } from 'node:fs';
import { leyline, type v1 } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';
import type { SaveResult } from '../actors/urza/library-api.ts';
import { UrzaLibrary } from '../actors/urza/library.ts';
import { fallbackGuardDigest, PrefetchResponder } from '../actors/urza/prefetch.ts';
import { interpolatedQuantile } from '../runtime/quantile.ts';
import { MAINTENANCE_TIMER, urzaLogic } from '../actors/urza/urza-actor.ts';
import type { ActorLogic } from '../runtime/logic.ts';
import { EventLog } from './helpers/events.ts';
import { testSystem } from './helpers/actors.ts';
import { bytesOf, descriptor, saveInput, tempRoot } from './fixtures/urza-fixtures.ts';

type Answer = v1.KernelArtifactReady | v1.KernelArtifactError;

function collector(log: EventLog<Answer>): ActorLogic<null, Answer> {
  return {
    kind: 'prefetch-collector',
    accepts: [leyline.KernelArtifactReady, leyline.KernelArtifactError],
    start: () => null,
    receive(state, message) {
      log.push(message);
      return state;
    },
  };
}

let requests = 0;
function request(
  blueprintId: string,
  issuedAtMs = Date.now(),
  requestId = `prefetch-${++requests}`,
): v1.KernelPrefetchRequest {
  return leyline.KernelPrefetchRequest.create({
    requestId,
    blueprintId,
    trainingRunId: 'run-1',
    issuedAt: toTimestamp(issuedAtMs),
  });
}

async function setUp(t: { teardown(fn: () => void | Promise<void>): void }) {
  const { root, cleanup } = tempRoot();
  const library = new UrzaLibrary({ root });
  const system = testSystem();
  const answers = new EventLog<Answer>();
  const replyTo = system.spawn(null, collector(answers), { name: 'kasmina-stand-in' });
  const urza = system.spawn(null, urzaLogic({ library, replyTo, maintenanceIntervalMs: null }), { name: 'urza' });
  t.teardown(async () => {
    await system.shutdown();
    library.close();
    cleanup();
  });
  const ask = async (message: v1.KernelPrefetchRequest): Promise<Answer> => {
    system.dispatch(urza, message);
    return answers.waitFor((answer) => answer.requestId === message.requestId);
  };
  return { library, system, urza, answers, ask };
}

test('interpolated quantiles: (n−1)·q with linear interpolation; one sample as is; none → 0', (t) => {
  t.is(interpolatedQuantile([], 0.5), 0);
  t.is(interpolatedQuantile([24], 0.95), 24);
  t.is(interpolatedQuantile([30, 10, 20, 40], 0.5), 25);
  t.true(Math.abs(interpolatedQuantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) - 9.55) < 1e-12);
  t.is(interpolatedQuantile([5, 1], 0), 1);
  t.is(interpolatedQuantile([5, 1], 1), 5);
});

test('Ready carries the artifact ref, a fresh checksum, the guard digest and p50/p95 of the stored samples', async (t) => {
  const { library, ask } = await setUp(t);
  const desc = descriptor('BP001');
  let saved: SaveResult | undefined;
  for (const prewarmMs of [10, 20, 30, 40])
    saved = library.save(saveInput(desc, [32], bytesOf('kernel'), { prewarmMs }));
  if (!saved?.ok) return t.fail();
  const message = request('BP001');
  const answer = await ask(message);
  t.true(answer instanceof leyline.KernelArtifactReady);
  if (!(answer instanceof leyline.KernelArtifactReady)) return;
  t.is(answer.blueprintId, 'BP001');
  t.is(answer.artifactRef, saved.entry.artifactRef);
  t.is(answer.checksum, saved.entry.checksum);
  t.is(answer.guardDigest, 'guard-BP001');
  t.is(answer.prewarmP50Ms, 25);
  t.is(answer.prewarmP95Ms, Math.fround(38.5));
});

test('a kernel saved without a guard digest reports sha256("<id>:<tier>")', async (t) => {
  const { library, ask } = await setUp(t);
  const input = saveInput(descriptor('BP-123'), [32], bytesOf('k'));
  input.update.guardDigest = '';
  library.save(input);
  const answer = await ask(request('BP-123'));
  t.true(answer instanceof leyline.KernelArtifactReady);
  if (answer instanceof leyline.KernelArtifactReady) {
    t.is(answer.guardDigest, fallbackGuardDigest('BP-123', leyline.BlueprintTier.BLUEPRINT_TIER_SAFE));
    t.is(answer.guardDigest, 'd98f24cc8aac95624ce816db7f7e6b65ff4e54ccff9599386242877af8f89091');
  }
});

test('each error reason: missing_artifact, artifact_not_found, checksum_mismatch, unavailable, invalid_request', async (t) => {
  const { library, ask, system, urza } = await setUp(t);
  const error = async (message: v1.KernelPrefetchRequest): Promise<string> => {
    const answer = await ask(message);
    t.true(answer instanceof leyline.KernelArtifactError, `${message.blueprintId}: ${JSON.stringify(answer)}`);
    return (answer as v1.KernelArtifactError).reason;
  };
  t.is(await error(request('NOT-IN-CATALOG')), 'missing_artifact');

  const gone = library.save(saveInput(descriptor('GONE'), [32], bytesOf('gone')));
  if (!gone.ok) return t.fail();
  unlinkSync(gone.entry.artifactRef);
  t.is(await error(request('GONE')), 'artifact_not_found');
  t.is(await error(request('GONE')), 'missing_artifact', 'the row was evicted');

  const bad = library.save(saveInput(descriptor('BAD'), [32], bytesOf('bad')));
  if (!bad.ok) return t.fail();
  writeFileSync(bad.entry.artifactRef, 'tampered');
  t.is(await error(request('BAD')), 'checksum_mismatch');
  t.is(library.metrics.integrityFailures, 1, 'prefetch counts the mismatch like the runtime does');
  t.is(library.metrics.evictions, 2);

  library.save(saveInput(descriptor('OK'), [32], bytesOf('ok')));
  library.breaker.forceOpen();
  t.is(await error(request('OK')), 'unavailable', 'an open breaker is not "missing"');
  library.breaker.reset();

  t.is(await error(request('')), 'invalid_request');

  const facts = system.inspectState(urza.path);
  t.is(facts['urza.prefetch.misses'], '2');
  t.is(facts['urza.prefetch.errors'], '4');
});

test('stale, future-dated, replayed and id-less requests are dropped and counted; the next fresh one is answered', async (t) => {
  const { library, system, urza, answers, ask } = await setUp(t);
  library.save(saveInput(descriptor('BP001'), [32], bytesOf('k')));
  const now = Date.now();
  const first = request('BP001', now);
  t.true((await ask(first)) instanceof leyline.KernelArtifactReady);
  system.dispatch(urza, first); // replay
  system.dispatch(urza, request('BP001', now - 61_000)); // stale
  system.dispatch(urza, request('BP001', now + 6_000)); // future
  system.dispatch(urza, request('BP001', now, '')); // no request_id
  system.dispatch(urza, leyline.KernelPrefetchRequest.create({ requestId: 'no-time', blueprintId: 'BP001' }));
  // Within the limits: 59 s old, 4 s ahead.
  t.true((await ask(request('BP001', now - 59_000))) instanceof leyline.KernelArtifactReady);
  t.true((await ask(request('BP001', now + 4_000))) instanceof leyline.KernelArtifactReady);
  t.is(answers.seen.length, 3, 'nothing answered the dropped requests');
  const facts = system.inspectState(urza.path);
  t.is(facts['urza.prefetch.replayed'], '1');
  t.is(facts['urza.prefetch.stale'], '2');
  t.is(facts['urza.prefetch.future'], '1');
  t.is(facts['urza.prefetch.invalid'], '1');
  t.is(facts['urza.prefetch.hits'], '3');
});

test('the replay cache holds 4096 request ids, then forgets the oldest', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const library = new UrzaLibrary({ root });
  t.teardown(() => library.close());
  const responder = new PrefetchResponder(library);
  const at = Date.now();
  for (let i = 0; i <= 4096; i++) responder.handle(request('X', at, `id-${i}`));
  t.is(responder.metrics.replayed, 0);
  t.like(responder.handle(request('X', at, 'id-4096')), { kind: 'dropped', reason: 'replayed' });
  t.like(responder.handle(request('X', at, 'id-0')), { kind: 'answer' }, 'id-0 was pushed out by id-4096');
});

test('the freshness window and skew are options, judged on an injected clock', (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const library = new UrzaLibrary({ root });
  t.teardown(() => library.close());
  let now = 1_000_000;
  const responder = new PrefetchResponder(library, { freshnessWindowMs: 1_000, maxFutureSkewMs: 100, now: () => now });
  t.like(responder.handle(request('X', now - 1_000)), { kind: 'answer' });
  t.like(responder.handle(request('X', now - 1_001)), { kind: 'dropped', reason: 'stale' });
  t.like(responder.handle(request('X', now + 100)), { kind: 'answer' });
  t.like(responder.handle(request('X', now + 101)), { kind: 'dropped', reason: 'future' });
  now += 10;
  t.true(responder.metrics.latencyMs >= 0);
});

test('the actor runs maintenance on its timer', async (t) => {
  const { root, cleanup } = tempRoot();
  const library = new UrzaLibrary({ root });
  const system = testSystem();
  t.teardown(async () => {
    await system.shutdown();
    library.close();
    cleanup();
  });
  const gone = library.save(saveInput(descriptor('GONE'), [32], bytesOf('gone')));
  if (!gone.ok) return t.fail();
  unlinkSync(gone.entry.artifactRef);
  const answers = new EventLog<Answer>();
  const replyTo = system.spawn(null, collector(answers), { name: 'sink' });
  const urza = system.spawn(null, urzaLogic({ library, replyTo, maintenanceIntervalMs: 20 }), { name: 'urza' });
  const deadline = Date.now() + 5_000;
  while (library.metrics.missingArtifacts === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(library.metrics.missingArtifacts, 1);
  t.is(library.get('GONE').status, 'not_found');
  t.not(system.inspectState(urza.path).maintenance_runs, '0');
  t.is(MAINTENANCE_TIMER, 'urza.maintenance');
});

test('a request that comes as an ask is answered to its asker (Ready or Error), not to reply-to', async (t) => {
  const { root, cleanup } = tempRoot();
  const library = new UrzaLibrary({ root });
  const system = testSystem();
  const urza = system.spawn(null, urzaLogic({ library, replyTo: null, maintenanceIntervalMs: null }), { name: 'urza' });
  t.teardown(async () => {
    await system.shutdown();
    library.close();
    cleanup();
  });
  library.save(saveInput(descriptor('BP001'), [32], bytesOf('kernel'), { prewarmMs: 5 }));
  const answers = [leyline.KernelArtifactReady, leyline.KernelArtifactError] as const;
  const ready = await system.ask(urza, request('BP001'), answers, 2_000);
  t.true(ready instanceof leyline.KernelArtifactReady);
  const missing = await system.ask(urza, request('BP404'), answers, 2_000);
  t.true(missing instanceof leyline.KernelArtifactError);
  t.is(missing instanceof leyline.KernelArtifactError ? missing.reason : '', 'missing_artifact');
});

test('a request naming a slot is answered for that slot; a bad slot is an invalid request', async (t) => {
  const { library, ask } = await setUp(t);
  const desc = descriptor('BP002');
  const dense = library.save(saveInput(desc, [32], bytesOf('dense kernel'), { prewarmMs: 3 }));
  const conv = library.save(saveInput(desc, [4, 4, 8], bytesOf('conv kernel'), { prewarmMs: 4 }));
  if (!dense.ok || !conv.ok) return t.fail();
  const forDense = leyline.KernelPrefetchRequest.create({
    ...request('BP002'),
    slot: leyline.SlotShape.create({ dims: [32] }),
  });
  const answer = await ask(forDense);
  t.true(answer instanceof leyline.KernelArtifactReady);
  t.is(answer instanceof leyline.KernelArtifactReady ? answer.checksum : '', dense.entry.checksum);
  const forConv = leyline.KernelPrefetchRequest.create({
    ...request('BP002'),
    slot: leyline.SlotShape.create({ dims: [4, 4, 8] }),
  });
  const convAnswer = await ask(forConv);
  t.is(convAnswer instanceof leyline.KernelArtifactReady ? convAnswer.checksum : '', conv.entry.checksum);
  const bad = await ask(
    leyline.KernelPrefetchRequest.create({ ...request('BP002'), slot: leyline.SlotShape.create({ dims: [0] }) }),
  );
  t.true(bad instanceof leyline.KernelArtifactError);
  t.is(bad instanceof leyline.KernelArtifactError ? bad.reason : '', 'invalid_request');
});
