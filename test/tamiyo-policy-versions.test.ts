// Tamiyo's policy versions as plain logic, without actors: a checked update shadows and is promoted (or rejected),
// the rollback rule (missed decisions in a row, or an instance its supervisor gave up on), and what a restart resets.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import type { UpdateCheck } from '../policy/index.ts';
import {
  HEURISTIC_POLICY,
  initialPolicyVersions,
  knownVersions,
  RANDOM_POLICY,
  ROLLBACK_AFTER,
  transition,
  versionOf,
  type PolicySpec,
  type PolicyVersionEffect,
  type PolicyVersions,
  type PolicyVersionSettings,
} from '../actors/tamiyo/policy-versions.ts';

const SETTINGS: PolicyVersionSettings = { shadowDecisions: 2, inferenceTimeoutMs: 15, mode: 'greedy', temperature: 1 };
// The weights' content is the policy model's business (checkPolicyUpdate); here they are a token that must travel.
const weights = (version: string): v1.PolicyWeights =>
  leyline.PolicyWeights.create({ architecture: 'tamiyo_gnn_v2', checksum: version });
const update = (version: string): v1.PolicyUpdate =>
  leyline.PolicyUpdate.create({ version: 1, tamiyoPolicyVersion: version });
const passed = (version: string): UpdateCheck => ({ ok: true, version, weights: weights(version) });
const network = (version: string): PolicySpec => ({
  version,
  kind: 'network',
  weights: weights(version),
  update: update(version),
  mode: 'greedy',
  temperature: 1,
});
const decision = (action: number, inferenceMs = 2): v1.PolicyDecision =>
  leyline.PolicyDecision.create({ policyVersion: 'x', decidedBy: 'x', choices: { action }, inferenceMs });

function start(policy: PolicySpec = HEURISTIC_POLICY): PolicyVersions {
  return initialPolicyVersions(policy).state;
}

/** Receives update `version` (checked) and shadows it `SETTINGS.shadowDecisions` times: it is then active. */
function promote(state: PolicyVersions, version: string): PolicyVersionEffect[] {
  transition(state, { type: 'update', update: update(version), check: passed(version) }, SETTINGS);
  const id = state.candidate!.id;
  const effects: PolicyVersionEffect[] = [];
  for (let i = 0; i < SETTINGS.shadowDecisions; i += 1)
    effects.push(
      ...transition(state, { type: 'shadowed', id, active: decision(i), answer: { decision: decision(0) } }, SETTINGS)
        .effects,
    );
  return effects;
}

const announced = (effects: readonly PolicyVersionEffect[]): string[] =>
  effects.flatMap((e) => (e.type === 'announce' ? [e.announcement.description] : []));

test('an incarnation starts its policy as instance 1, with no candidate, no previous policy and no failures', (t) => {
  const { state, effects } = initialPolicyVersions(network('v-a'));
  t.deepEqual(effects, [{ type: 'spawn', id: 1, policy: network('v-a'), seedMemoryFrom: null }]);
  t.like(state, { previous: null, candidate: null, activeFailures: 0, started: 1, active: { id: 1, version: 'v-a' } });
});

test('a checked update becomes a candidate with the active memory; a refused one is announced and changes nothing', (t) => {
  const state = start();
  const refused = transition(
    state,
    { type: 'update', update: update('v-forged'), check: { ok: false, reason: 'bad_signature' } },
    SETTINGS,
  );
  t.deepEqual(refused.effects, [
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_rejected',
        attributes: { version: 'v-forged', reason: 'bad_signature' },
      },
    },
  ]);
  t.is(state.candidate, null);

  const { effects } = transition(state, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  t.deepEqual(effects, [
    {
      type: 'spawn',
      id: 2,
      policy: { ...network('v-b'), update: update('v-b') },
      seedMemoryFrom: HEURISTIC_POLICY.version,
    },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_received',
        attributes: { version: 'v-b', shadow_decisions_needed: '2' },
      },
    },
  ]);
  t.like(state.candidate, { id: 2, version: 'v-b', kind: 'network', shadowed: 0, agreed: 0 });
  t.is(state.active.version, HEURISTIC_POLICY.version, 'the active policy still decides');
  t.deepEqual(knownVersions(state), [HEURISTIC_POLICY.version, 'v-b'], 'neither version may be loaded again');
});

test('a newer update supersedes the candidate: the old one is stopped and rejected, and its late answers count for nothing', (t) => {
  const state = start();
  transition(state, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  const { effects } = transition(state, { type: 'update', update: update('v-c'), check: passed('v-c') }, SETTINGS);
  t.deepEqual(effects.slice(0, 2), [
    { type: 'retire', id: 2, reason: 'superseded by v-c' },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_rejected',
        attributes: { version: 'v-b', reason: 'superseded by v-c before promotion' },
      },
    },
  ]);
  t.like(state.candidate, { id: 3, version: 'v-c' });
  const stale = transition(state, { type: 'shadowed', id: 2, active: null, answer: { error: 'gone' } }, SETTINGS);
  t.deepEqual(stale.effects, []);
  t.like(state.candidate, { id: 3, shadowed: 0 });
});

test('after shadowDecisions in-budget answers the candidate is promoted: saved, the old instance retired, the old policy kept', (t) => {
  const state = start();
  transition(state, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  const first = transition(
    state,
    { type: 'shadowed', id: 2, active: decision(1), answer: { decision: decision(1) } },
    SETTINGS,
  );
  t.deepEqual(first.effects, [], 'one shadow decision is not enough');
  t.is(state.active.id, 1);
  const second = transition(
    state,
    { type: 'shadowed', id: 2, active: decision(0), answer: { decision: decision(3) } },
    SETTINGS,
  );
  t.deepEqual(second.effects, [
    { type: 'save-promoted', update: update('v-b') },
    { type: 'retire', id: 1, reason: 'replaced by policy v-b' },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_applied',
        attributes: { version: 'v-b', previous: HEURISTIC_POLICY.version, shadow_decisions: '2', agreement: '0.500' },
      },
    },
  ]);
  t.like(state.active, { id: 2, version: 'v-b', kind: 'network' });
  t.deepEqual(state.previous, HEURISTIC_POLICY);
  t.is(state.candidate, null);
});

test('a candidate that answers late or fails in shadow is stopped and rejected; the active policy stays', (t) => {
  const slow = start();
  transition(slow, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  const late = transition(
    slow,
    { type: 'shadowed', id: 2, active: decision(0), answer: { decision: decision(0, 16) } },
    SETTINGS,
  );
  t.deepEqual(late.effects, [
    { type: 'retire', id: 2, reason: 'too slow in shadow' },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_rejected',
        attributes: { version: 'v-b', reason: 'shadow decision over the 15 ms deadline' },
      },
    },
  ]);
  t.is(slow.candidate, null);
  t.is(slow.active.version, HEURISTIC_POLICY.version);

  const failing = start();
  transition(failing, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  const failed = transition(failing, { type: 'shadowed', id: 2, active: null, answer: { error: 'boom' } }, SETTINGS);
  t.deepEqual(failed.effects, [
    { type: 'retire', id: 2, reason: 'failed in shadow' },
    {
      type: 'announce',
      announcement: {
        description: 'policy_update_rejected',
        attributes: { version: 'v-b', reason: 'failed in shadow: boom' },
      },
    },
  ]);
  t.is(failing.candidate, null);
});

test(`the rollback rule: ${ROLLBACK_AFTER} missed decisions in a row roll a promoted policy back to the one it replaced`, (t) => {
  const state = start(network('v-a'));
  promote(state, 'v-b');
  t.is(state.active.version, 'v-b');
  const missed = () => transition(state, { type: 'decided', outcome: 'missed' }, SETTINGS).effects;
  t.deepEqual([...missed(), ...missed()], []);
  t.deepEqual(
    transition(state, { type: 'decided', outcome: 'answered' }, SETTINGS).effects,
    [],
    'an answer ends the run of misses',
  );
  t.is(state.activeFailures, 0);
  t.deepEqual([...missed(), ...missed()], []);
  t.deepEqual(
    transition(state, { type: 'decided', outcome: 'held' }, SETTINGS).effects,
    [],
    'a hold neither counts nor resets',
  );
  t.is(state.activeFailures, 2);
  t.deepEqual(missed(), [
    { type: 'retire', id: 2, reason: 'rolled back' },
    { type: 'save-promoted', update: update('v-a') },
    { type: 'spawn', id: 3, policy: network('v-a'), seedMemoryFrom: null },
    {
      type: 'announce',
      announcement: {
        description: 'policy_rolled_back',
        attributes: { from: 'v-b', to: 'v-a', reason: `${ROLLBACK_AFTER} failed decisions in a row` },
      },
    },
  ]);
  t.like(state, { previous: null, activeFailures: 0, active: { id: 3, version: 'v-a' } });
});

test('with nothing replaced, a failing policy rolls back to the heuristic (and policy.pb goes); the heuristic itself stays', (t) => {
  const random = start(RANDOM_POLICY);
  const effects = Array.from(
    { length: ROLLBACK_AFTER },
    () => transition(random, { type: 'decided', outcome: 'missed' }, SETTINGS).effects,
  ).flat();
  t.deepEqual(
    effects.filter((e) => e.type === 'save-promoted'),
    [{ type: 'save-promoted', update: null }],
  );
  t.deepEqual(announced(effects), ['policy_rolled_back']);
  t.like(random.active, { id: 2, kind: 'heuristic' });

  const heuristic = start();
  for (let i = 0; i < ROLLBACK_AFTER + 2; i += 1)
    t.deepEqual(transition(heuristic, { type: 'decided', outcome: 'missed' }, SETTINGS).effects, []);
  t.like(heuristic.active, { id: 1, kind: 'heuristic' });
});

test('an instance its supervisor gave up on: a candidate is rejected, the active one rolled back, the heuristic left without a policy', (t) => {
  const withCandidate = start();
  transition(withCandidate, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  const candidate = transition(withCandidate, { type: 'gave-up', id: 2, error: 'boom' }, SETTINGS);
  t.deepEqual(
    candidate.effects,
    [
      {
        type: 'announce',
        announcement: {
          description: 'policy_update_rejected',
          attributes: { version: 'v-b', reason: 'candidate failed past its restarts: boom' },
        },
      },
    ],
    'already stopped: not retired again',
  );
  t.is(withCandidate.candidate, null);

  const promoted = start();
  promote(promoted, 'v-b');
  const active = transition(promoted, { type: 'gave-up', id: 2, error: 'boom' }, SETTINGS);
  t.deepEqual(announced(active.effects), ['policy_rolled_back']);
  t.like(active.effects.at(-1), {
    announcement: {
      attributes: { from: 'v-b', to: HEURISTIC_POLICY.version, reason: 'failed past its restarts: boom' },
    },
  });
  t.like(promoted.active, { id: 3, kind: 'heuristic' });

  const heuristic = start();
  t.deepEqual(transition(heuristic, { type: 'gave-up', id: 1, error: 'boom' }, SETTINGS).effects, [
    { type: 'no-policy', error: 'boom' },
  ]);
  t.deepEqual(
    transition(heuristic, { type: 'gave-up', id: 7, error: 'boom' }, SETTINGS).effects,
    [],
    'an instance it no longer runs',
  );
});

test('a restart starts afresh: misses before it do not count after it, and instances are numbered from 1 again', (t) => {
  const before = start(network('v-a'));
  for (let i = 0; i < ROLLBACK_AFTER - 1; i += 1) transition(before, { type: 'decided', outcome: 'missed' }, SETTINGS);
  transition(before, { type: 'update', update: update('v-b'), check: passed('v-b') }, SETTINGS);
  t.is(versionOf(before, 2), 'v-b');

  const after = start(network('v-a'));
  t.like(after, { activeFailures: 0, candidate: null, started: 1 });
  t.deepEqual(
    transition(after, { type: 'decided', outcome: 'missed' }, SETTINGS).effects,
    [],
    'one miss after the restart is one miss',
  );
  t.is(versionOf(after, 1), 'v-a');
  t.is(versionOf(after, 2), '', 'the candidate of before the restart is gone');
});
