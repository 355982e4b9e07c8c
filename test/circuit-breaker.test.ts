// The shared circuit breaker: threshold, open timeout, half-open probing, transitions counted once.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { CircuitBreaker, type BreakerTransition } from '../runtime/circuit-breaker.ts';

const { CircuitBreakerState: S } = leyline;

function breaker(options: ConstructorParameters<typeof CircuitBreaker>[1] = {}) {
  let now = 0;
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker('test', { timeoutMs: 1_000, clock: () => now, ...options });
  b.onTransition((t) => transitions.push(t));
  return { b, transitions, advance: (ms: number) => (now += ms) };
}

test('opens after the threshold of consecutive failures; a success in between resets the count', (t) => {
  const { b } = breaker({ failureThreshold: 3 });
  b.recordFailure();
  b.recordFailure();
  b.recordSuccess();
  b.recordFailure();
  b.recordFailure();
  t.is(b.state, S.CIRCUIT_STATE_CLOSED);
  b.recordFailure();
  t.is(b.state, S.CIRCUIT_STATE_OPEN);
  t.false(b.allow());
  t.is(b.snapshot().deniedTotal, 1n);
});

test('after the timeout one trial is admitted; success closes, failure reopens at once', (t) => {
  const { b, advance, transitions } = breaker({ failureThreshold: 1, halfOpenTrials: 1 });
  b.recordFailure();
  advance(999);
  t.false(b.allow());
  advance(1);
  t.true(b.allow());
  t.is(b.state, S.CIRCUIT_STATE_HALF_OPEN);
  t.false(b.allow(), 'only one trial at a time');
  b.recordFailure();
  t.is(b.state, S.CIRCUIT_STATE_OPEN);
  advance(1_000);
  t.true(b.allow());
  b.recordSuccess();
  t.is(b.state, S.CIRCUIT_STATE_CLOSED);
  t.deepEqual(
    transitions.map((x) => x.to),
    [
      S.CIRCUIT_STATE_OPEN,
      S.CIRCUIT_STATE_HALF_OPEN,
      S.CIRCUIT_STATE_OPEN,
      S.CIRCUIT_STATE_HALF_OPEN,
      S.CIRCUIT_STATE_CLOSED,
    ],
  );
  t.is(b.snapshot().openedTotal, 2n, 'transitions to OPEN are counted, not every observation');
});

test('the snapshot is a Leyline CircuitBreakerSnapshot with open_until only while open', (t) => {
  const { b } = breaker({ failureThreshold: 1 });
  t.is(b.snapshot().openUntil, null);
  b.recordFailure();
  const snap = b.snapshot();
  t.true(snap instanceof leyline.CircuitBreakerSnapshot);
  t.is(snap.state, S.CIRCUIT_STATE_OPEN);
  t.truthy(snap.openUntil);
  b.reset();
  t.is(b.state, S.CIRCUIT_STATE_CLOSED);
});
