// A policy-instance actor (the controller's child, the active policy or a candidate in shadow): answers each
// SystemStatePacket with a PolicyDecision, computed by its runner (on this thread by default). Its memory (the run's
// validation-loss history) is written to disk every `persistEvery` decisions and when it stops — not on every
// inference — atomically, one file per policy version, and read back when it starts. The write (an fsync) waits for a
// timer of its own: done right after the answer, it held the training thread while Tolaria's hook waited for it.
import { existsSync, readFileSync } from 'node:fs';
import { leyline, type v1 } from '../../contracts/index.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import type { ActorLogic } from '../../runtime/logic.ts';
import type { DynamicChildSpec } from '../../supervision/child-spec.ts';
import type { PolicyMemory, PolicyWorld } from '../../policy/index.ts';
import {
  InlinePolicyRunner,
  WorkerPolicyRunner,
  type PolicyRunner,
  type PolicyRunnerOptions,
} from './policy-runner.ts';

export type PolicyThread = 'worker' | 'inline';

/**
 * How the controller supervises its policy instances (supervision/dynamic-children.ts). An instance that crashes or
 * ends is restarted after a short backoff from its version's weights (its memory read back from disk); past two
 * restarts a minute (or the same error 3 times in a row) the controller gives up on it: an active policy is rolled
 * back to the one before it (or the heuristic), a candidate is rejected. Permanent: the controller stops an instance
 * on purpose only after releasing it from supervision.
 */
export const POLICY_SPEC: DynamicChildSpec = {
  restart: leyline.RestartPolicy.RESTART_POLICY_PERMANENT,
  intensity: 2,
  periodMs: 60_000,
  maxRepeats: 3,
  backoff: { baseMs: 100, maxMs: 1_000, jitter: 0.25, stableMs: 60_000 },
  giveUp: leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP,
  shutdownMs: 2_000,
};

export interface PolicyActorDeps {
  /** The policy: its version, kind, weights, mode (everything but its memory). */
  policy: Omit<PolicyRunnerOptions, 'memory'>;
  /** Memory to start from when the policy has none of its own on disk (a candidate inherits the active one's). */
  inherited: PolicyMemory | null;
  /** The host's slots and Karn's blueprints at the moment of a decision. */
  world: () => PolicyWorld;
  /** Where the memory lives (one file per policy version); null: not persisted. */
  memoryPath: string | null;
  persistEvery: number;
  thread: PolicyThread;
  /** The TensorFlow.js backend the worker thread selects (the training thread's). */
  backend: string;
  /** A worker thread that does not answer a decision within this is stopped (and the actor fails). */
  threadTimeoutMs: number;
}

interface PolicyActorState {
  /** Settles when the runner is ready (a worker thread takes a second or so to start). */
  starting: { runner: PolicyRunner | null };
  /** Packets answered while starting: the runner observes them first (the run's history stays whole). */
  missed: v1.SystemStatePacket[];
  decisions: number;
}

const PERSIST_TIMER = 'persist-memory';

/** The answer while the runner is still starting: no decision (the controller holds, without counting a failure). */
export const STARTING = 'starting';

export function readPolicyMemory(path: string): PolicyMemory | null {
  if (!existsSync(path)) return null;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<PolicyMemory>;
    if (!Array.isArray(parsed.history)) return null;
    return {
      runId: typeof parsed.runId === 'string' ? parsed.runId : '',
      history: parsed.history.filter((h) => Array.isArray(h) && h.length === 2 && h.every(Number.isFinite)),
    };
  } catch {
    return null;
  }
}

export function writePolicyMemory(path: string, memory: PolicyMemory): void {
  writeFileAtomic(path, JSON.stringify(memory));
}

export function policyLogic(deps: PolicyActorDeps): ActorLogic<PolicyActorState, v1.SystemStatePacket | v1.TimerFired> {
  const persist = async (runner: PolicyRunner): Promise<void> => {
    if (deps.memoryPath) writePolicyMemory(deps.memoryPath, await runner.memory());
  };
  return {
    kind: 'tamiyo-policy',
    accepts: [leyline.SystemStatePacket],
    async start(ctx) {
      const saved = deps.memoryPath ? readPolicyMemory(deps.memoryPath) : null;
      if (deps.memoryPath && existsSync(deps.memoryPath) && !saved)
        ctx.log.warn('policy memory unreadable; starting from the priors', { path: deps.memoryPath });
      const options: PolicyRunnerOptions = { ...deps.policy, memory: saved ?? deps.inherited };
      const starting: PolicyActorState['starting'] = { runner: null };
      if (deps.thread === 'inline') starting.runner = new InlinePolicyRunner(options, deps.world());
      else {
        // A thread that cannot start leaves the policy on this thread rather than without a policy.
        void WorkerPolicyRunner.start(options, deps.world(), deps.backend, deps.threadTimeoutMs).then(
          (runner) => (starting.runner = runner),
          (error: unknown) => {
            ctx.log.warn('policy thread failed to start; deciding on the training thread', {
              error: (error as Error).message,
            });
            starting.runner = new InlinePolicyRunner(options, deps.world());
          },
        );
      }
      return { starting, missed: [], decisions: 0 };
    },
    async receive(state, packet, ctx) {
      const runner = state.starting.runner;
      if (packet instanceof leyline.TimerFired) {
        if (packet.timerId === PERSIST_TIMER && runner) await persist(runner);
        return state;
      }
      if (!runner) {
        ctx.reply(leyline.PolicyDecision.create({ policyVersion: deps.policy.version, decidedBy: STARTING }));
        state.missed.push(packet);
        return state;
      }
      for (const missed of state.missed.splice(0)) await runner.observe(missed);
      ctx.reply(await runner.decide(packet, deps.world()));
      state.decisions += 1;
      if (deps.persistEvery > 0 && state.decisions % deps.persistEvery === 0) ctx.after(PERSIST_TIMER, 1);
      return state;
    },
    async stop(state) {
      const runner = state.starting.runner;
      if (!runner) return;
      try {
        await persist(runner);
      } finally {
        await runner.close();
      }
    },
    inspect: (state) => ({
      version: deps.policy.version,
      kind: deps.policy.kind,
      mode: deps.policy.mode ?? 'greedy',
      thread: deps.thread,
      ready: String(state.starting.runner !== null),
      decisions: String(state.decisions),
    }),
  };
}
