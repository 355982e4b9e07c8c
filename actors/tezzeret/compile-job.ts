// One compile job as an actor: attempts with backoff, each run in a pool worker under a timeout; on success the
// kernel goes to the store (Urza) and a CompileResult to the forge; the job then ends. A crash of this actor is
// contained by the forge, which watches it.
import { createHash } from 'node:crypto';
import { encodeLeyline } from '../../contracts/codec.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { describeError } from '../../runtime/errors.ts';
import type { DynamicChildSpec } from '../../supervision/child-spec.ts';
import type { ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { BackendPreference } from '../../tensor/index.ts';
import type { CompileOutput } from './compile-task.ts';
import type { JobJournal } from './job-journal.ts';
import type { KernelStore } from './ports.ts';
import { CompileTimeoutError, type CompileRunner } from './worker-pool.ts';

export interface CompileJob {
  jobId: string;
  descriptor: v1.BlueprintDescriptor;
  slotDims: number[];
  parameters: Record<string, number>;
}

export interface CompileJobSettings {
  /** The worker pool (or a test's runner). */
  pool: CompileRunner;
  store: KernelStore;
  journal: JobJournal;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  prewarmSamples: number;
  backend: BackendPreference;
  batch: number;
}

interface JobState {
  attempts: number;
  timedOut: boolean;
}

const ATTEMPT_TIMER = 'attempt';

/**
 * How the forge supervises its job actors (supervision/dynamic-children.ts). A job that crashes (outside its attempts:
 * a journal that cannot be written, a bug) is restarted and starts its attempts again; past two restarts a minute it
 * is stopped and its request answered with the failure. Transient: a job that reported its result ends normally.
 */
export const COMPILE_JOB_SPEC: DynamicChildSpec = {
  restart: leyline.RestartPolicy.RESTART_POLICY_TRANSIENT,
  intensity: 2,
  periodMs: 60_000,
  maxRepeats: 3,
  backoff: { baseMs: 200, maxMs: 2_000, jitter: 0.25, stableMs: 60_000 },
  giveUp: leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP,
  // A job only waits on its worker, which the forge terminates when it stops: stopping never hangs on a compile.
  shutdownMs: 1_000,
};

/** Delay before retry n (1-based): base, 2×base, 4×base … capped at 30 s. */
export function retryDelayMs(baseMs: number, retry: number): number {
  return Math.min(30_000, baseMs * 2 ** Math.max(0, retry - 1));
}

/** The median of the pre-warm samples (the catalog's prewarm_ms). */
export function medianMs(samples: readonly number[]): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function compileJobLogic(
  job: CompileJob,
  strategy: v1.CompileStrategy,
  settings: CompileJobSettings,
  forge: ActorRef<v1.CompileResult>,
): ActorLogic<JobState, v1.TimerFired> {
  const slot = leyline.SlotShape.create({ slotId: job.slotDims.join('x'), dims: job.slotDims });
  const conservative = strategy === leyline.CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE;

  const store = async (output: CompileOutput, attempts: number): Promise<v1.CompileResult> => {
    const checksum = createHash('sha256').update(output.artifact).digest('hex');
    const update = leyline.KernelCatalogUpdate.create({
      blueprintId: job.descriptor.blueprintId,
      artifactRef: `sha256:${checksum}`,
      checksum,
      guardDigest: output.guardDigest,
      compileMs: output.compileMs,
      prewarmMs: medianMs(output.prewarmSamplesMs),
    });
    await settings.store.save({
      jobId: job.jobId,
      descriptor: job.descriptor,
      slot: { dims: job.slotDims },
      parameters: job.parameters,
      artifact: output.artifact,
      update,
      family: output.family,
      fallbackFrom: output.fallbackFrom,
      strategy,
      guardSummary: output.guardSummary,
      prewarmSamplesMs: output.prewarmSamplesMs,
    });
    return leyline.CompileResult.create({
      jobId: job.jobId,
      blueprintId: job.descriptor.blueprintId,
      ok: true,
      update,
      strategy,
      slot,
      guardSummary: output.guardSummary,
      attempts,
      moduleFamily: output.family,
      fallbackFrom: output.fallbackFrom,
    });
  };

  return {
    kind: 'compile-job',
    accepts: [leyline.TimerFired],
    start(ctx) {
      ctx.after(ATTEMPT_TIMER, 1);
      return { attempts: 0, timedOut: false };
    },
    async receive(state, _tick, ctx) {
      const attempts = state.attempts + 1;
      settings.journal.started(job.jobId);
      try {
        const output = await settings.pool.run(
          {
            descriptor: encodeLeyline(job.descriptor),
            parameters: job.parameters,
            slotDims: job.slotDims,
            // Conservative: the least work that still yields a kernel and a pre-warm timing.
            prewarmSamples: conservative ? 1 : settings.prewarmSamples,
            backend: settings.backend,
            batch: settings.batch,
          },
          settings.timeoutMs,
        );
        ctx.dispatch(forge, await store(output, attempts));
        ctx.stopSelf();
        return { attempts, timedOut: state.timedOut };
      } catch (error) {
        const timedOut = state.timedOut || error instanceof CompileTimeoutError;
        settings.journal.attemptFailed(job.jobId, describeError(error));
        if (attempts <= settings.maxRetries) {
          ctx.log.warn('compile attempt failed; retrying', {
            job: job.jobId,
            attempt: attempts,
            error: describeError(error),
          });
          ctx.after(ATTEMPT_TIMER, retryDelayMs(settings.retryBaseMs, attempts));
          return { attempts, timedOut };
        }
        ctx.dispatch(
          forge,
          leyline.CompileResult.create({
            jobId: job.jobId,
            blueprintId: job.descriptor.blueprintId,
            ok: false,
            error: describeError(error),
            strategy,
            slot,
            attempts,
            timedOut,
          }),
        );
        ctx.stopSelf();
        return { attempts, timedOut };
      }
    },
    inspect: (state) => ({
      job: job.jobId,
      attempts: String(state.attempts),
      strategy: leyline.CompileStrategy[strategy] ?? '',
    }),
  };
}
