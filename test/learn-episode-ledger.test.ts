// The pure rules of episodes over the bus (cli/learn/episode-ledger.ts): which episodes are still outstanding, the
// first answer of each counts, copies and answers of another policy version are dropped, results in request order.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { EpisodeLedger, expectedVersion } from '../cli/learn/episode-ledger.ts';

const request = (episodeId: string, version: string | null): v1.EpisodeRequest =>
  leyline.EpisodeRequest.create({
    episodeId,
    policyKind: version === null ? 'heuristic' : 'network',
    ...(version === null ? {} : { policy: leyline.PolicyUpdate.create({ tamiyoPolicyVersion: version }) }),
  });
const result = (episodeId: string, policyVersion: string, ok = true, seconds = 1): v1.EpisodeResult =>
  leyline.EpisodeResult.create({ episodeId, policyVersion, ok, seconds });

test('the version an episode must report: a network policy’s own; none checked for the fixed policies', (t) => {
  t.is(expectedVersion(request('a', 'learn-r3')), 'learn-r3');
  t.is(expectedVersion(request('b', null)), null);
});

test('each episode counts once, of the version asked for; the results come in request order', (t) => {
  const ledger = new EpisodeLedger([request('e0', 'v1'), request('e1', 'v1'), request('e2', 'v1')]);
  t.deepEqual(ledger.outstanding(), ['e0', 'e1', 'e2']);
  t.is(ledger.accept(result('e2', 'v1', true, 2)), 'accepted');
  t.is(ledger.accept(result('e2', 'v1', true, 9)), 'duplicate');
  t.is(ledger.accept(result('e0', 'v0')), 'wrong-version');
  t.is(ledger.accept(result('zz', 'v1')), 'unknown');
  t.deepEqual(ledger.outstanding(), ['e0', 'e1']);
  t.false(ledger.done);
  t.throws(() => ledger.results(), { message: /e0 is not answered yet/ });
  t.is(ledger.accept(result('e0', 'v1')), 'accepted');
  // A failed episode that never read its policy reports no version: still its answer.
  t.is(ledger.accept(result('e1', '', false)), 'accepted');
  t.true(ledger.done);
  const results = ledger.results();
  t.deepEqual(
    results.map((r) => r.episodeId),
    ['e0', 'e1', 'e2'],
  );
  // The first answer of e2 is the one kept, not the copy.
  t.is(results[2]!.seconds, 2);
});

test('a heuristic episode takes the answer whatever version it names; a batch may not name an episode twice', (t) => {
  const ledger = new EpisodeLedger([request('h0', null)]);
  t.is(ledger.accept(result('h0', 'heuristic-v1')), 'accepted');
  t.true(ledger.done);
  t.throws(() => new EpisodeLedger([request('x', 'v'), request('x', 'v')]), { message: /x is in the batch twice/ });
});
