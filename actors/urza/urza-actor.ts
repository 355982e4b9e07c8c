// The Urza actor: answers KernelPrefetchRequests and runs the library's housekeeping on a timer. Answers
// (KernelArtifactReady / KernelArtifactError) are dispatched to the `replyTo` actor given at spawn — the stand-in
// for the prototype's oona.kernels.ready / .errors streams — and correlated there by request_id. Requests are
// dispatched, not asked: an ask takes one reply type, and a prefetch has two.
//
// A KernelArtifact (a kernel compiled by a Tezzeret worker in another process, by bus) is saved into the library:
// bytes that do not match their checksum, or a record that is not valid, are refused and counted (retrying cannot
// mend them); a library that cannot write now fails the message, so the bus delivers it again later.
//
// The library itself is shared (Tezzeret saves into it, Kasmina fetches from it, in-process); this actor does not
// open or close it, so a restart of the actor never closes the catalog under the others.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ActorLogic, ActorRef } from '../../runtime/logic.ts';
import type { UrzaLibrary } from './library.ts';
import { metricPoints } from './metrics.ts';
import { PrefetchResponder, type PrefetchAnswer, type PrefetchOptions } from './prefetch.ts';
import { importArtifact } from './artifact-import.ts';

export const MAINTENANCE_TIMER = 'urza.maintenance';

export interface UrzaActorOptions {
  library: UrzaLibrary;
  /**
   * Receives KernelArtifactReady / KernelArtifactError for requests that were dispatched (Kasmina's seed manager,
   * or Oona's kernel streams). A request that came as an ask is answered to its asker instead (accept both types:
   * `ask(urza, request, [KernelArtifactReady, KernelArtifactError], deadline)`). Null: only asks are answered.
   */
  replyTo: ActorRef<PrefetchAnswer> | null;
  prefetch?: PrefetchOptions;
  /** How often `library.maintenance()` runs; null: never. Default 60 000 ms (the prototype's housekeeping). */
  maintenanceIntervalMs?: number | null;
  /** Hash every artifact during maintenance (default false: existence and TTL only). */
  verifyChecksumsInMaintenance?: boolean;
}

export type UrzaMessage = v1.KernelPrefetchRequest | v1.KernelArtifact | v1.TimerFired;

export interface UrzaActorState {
  readonly responder: PrefetchResponder;
  maintenanceRuns: number;
  artifactsImported: number;
  artifactsRefused: number;
}

/**
 * Urza's actor logic. The responder (replay cache and prefetch counters) is created once per logic, so it
 * survives restarts: a restart neither forgets which request_ids were answered nor resets the counters.
 */
export function urzaLogic(options: UrzaActorOptions): ActorLogic<UrzaActorState, UrzaMessage> {
  const responder = new PrefetchResponder(options.library, options.prefetch);
  const interval = options.maintenanceIntervalMs === undefined ? 60_000 : options.maintenanceIntervalMs;
  return {
    kind: 'urza',
    accepts: [leyline.KernelPrefetchRequest, leyline.KernelArtifact],
    start(ctx) {
      if (interval !== null) ctx.every(MAINTENANCE_TIMER, interval);
      return { responder, maintenanceRuns: 0, artifactsImported: 0, artifactsRefused: 0 };
    },
    receive(state, message, ctx) {
      if (message instanceof leyline.TimerFired) {
        if (message.timerId === MAINTENANCE_TIMER) {
          const result = options.library.maintenance({
            verifyChecksums: options.verifyChecksumsInMaintenance ?? false,
          });
          state.maintenanceRuns += 1;
          if (result.status === 'ok' && result.expired + result.missing + result.corrupt > 0) {
            ctx.log.warn('urza maintenance evicted catalog rows', { ...result });
          }
        }
        return state;
      }
      if (message instanceof leyline.KernelArtifact) {
        const saved = importArtifact(options.library, message);
        if (saved.ok) {
          state.artifactsImported += 1;
          return state;
        }
        if (saved.error.code === 'unavailable' || saved.error.code === 'io_error') throw saved.error;
        state.artifactsRefused += 1;
        ctx.log.warn('urza refused a kernel artifact', {
          job: message.jobId,
          code: saved.error.code,
          error: saved.error.message,
        });
        return state;
      }
      const outcome = state.responder.handle(message);
      if (outcome.kind === 'dropped') {
        ctx.log.info('urza dropped a prefetch request', {
          requestId: message.requestId,
          reason: outcome.reason,
          detail: outcome.detail,
        });
        return state;
      }
      const answerAsker = ctx.replyLater();
      const delivered = answerAsker
        ? answerAsker(outcome.answer)
        : options.replyTo
          ? ctx.dispatch(options.replyTo, outcome.answer)
          : false;
      if (!delivered) state.responder.metrics.undelivered += 1;
      return state;
    },
    inspect(state) {
      const facts: Record<string, string> = {
        maintenance_runs: String(state.maintenanceRuns),
        artifacts_imported: String(state.artifactsImported),
        artifacts_refused: String(state.artifactsRefused),
      };
      for (const point of metricPoints({
        ...options.library.metricsSnapshot(),
        ...state.responder.metrics.snapshot(),
      })) {
        facts[point.name] = String(point.value);
      }
      return facts;
    },
  };
}
