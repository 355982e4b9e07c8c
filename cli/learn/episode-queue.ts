// `esper learn --bus redis://…`: the episodes go on the bus for workers on any machine (`esper serve episodes
// --bus`). Each request is a signed EpisodeRequest on oona.episodes.requests, read by the workers' shared consumer
// group `episodes` (one worker per request; a request a dead worker held is claimed by another after its idle
// time — XAUTOCLAIM, actors/oona/subscription.ts); each answer a signed EpisodeResult on oona.episodes.results,
// read by this learning run's own group, `learn-<learnId>` (the same after --resume, so answers that came while
// the learner was down are still read). Delivery is at least once: the ledger (episode-ledger.ts) keeps the first
// answer of each episode of the version its request named, and drops copies and other versions, counted.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { OonaClient, resolveOonaConfig, type OonaSettings } from '../../actors/oona/index.ts';
import type { Logger } from '../../runtime/logic.ts';
import { EpisodeLedger, type ResultVerdict } from './episode-ledger.ts';
import type { EpisodeSource } from './episode-source.ts';
import type { DroppedAnswers } from './record.ts';

/** The workers' consumer group on the request stream: every worker of every machine shares it. */
export const EPISODE_WORKER_GROUP = 'episodes';
/** Requests wait in the stream longer than the bus's usual 15 minutes: a round may queue many episodes. */
export const EPISODE_MESSAGE_TTL_MS = 24 * 3_600_000;

/** The bus settings both sides use for episodes (`retryIdleMs`: when a held entry may be claimed by another). */
export function episodeBusSettings(url: string, retryIdleMs: number): OonaSettings {
  return resolveOonaConfig({ url, messageTtlMs: EPISODE_MESSAGE_TTL_MS, retryIdleMs }, '--bus');
}

/** Answers kept for a batch not asked yet. */
const EARLY_KEPT = 256;

export class EpisodeQueueError extends Error {
  override readonly name = 'EpisodeQueueError';
}

/** A batch with no answer for this long says so (no worker running is not an error: one may yet start). */
const QUIET_WARN_MS = 60_000;

interface Batch {
  ledger: EpisodeLedger;
  quiet: NodeJS.Timeout;
  resolve: (results: v1.EpisodeResult[]) => void;
  reject: (error: Error) => void;
}

export class EpisodeQueue implements EpisodeSource {
  /** Answers not taken, by why (a copy, another policy version, not this batch's episode). */
  readonly #dropped: DroppedAnswers = { duplicate: 0, 'wrong-version': 0, unknown: 0 };
  readonly #client: OonaClient;
  readonly #log: Logger;
  #batch: Batch | null = null;
  /**
   * Answers to no batch in flight, by episode id: after --resume, the answers of the round that was in flight
   * arrive before the round is asked again, and are taken then instead of run again.
   */
  readonly #early = new Map<string, v1.EpisodeResult>();
  #closing: Promise<void> | null = null;

  private constructor(client: OonaClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  static async start(options: {
    url: string;
    learnId: string;
    signing: SignatureContext;
    log: Logger;
  }): Promise<EpisodeQueue> {
    // The learner's own pending answers (a learner killed mid-batch) are claimed back after 5 s.
    const settings = episodeBusSettings(options.url, 5_000);
    const client = new OonaClient({
      settings,
      signing: options.signing,
      source: 'learn',
      consumer: `learn-${options.learnId}`,
    });
    if (!(await client.connect(5_000))) {
      await client.close();
      throw new EpisodeQueueError(`the bus at ${options.url} does not answer`);
    }
    const { episodeRequests, episodeResults } = settings.streams;
    // Created before the first request: workers that join later still get every request sent from now on.
    await client.store.ensureGroup(episodeRequests, EPISODE_WORKER_GROUP);
    const queue = new EpisodeQueue(client, options.log);
    client.subscribe({
      stream: episodeResults,
      group: `learn-${options.learnId}`,
      types: [leyline.BusMessageType.BUS_MESSAGE_TYPE_EPISODE_RESULT],
      handler: (message) => queue.#answered(message as v1.EpisodeResult),
    });
    return queue;
  }

  runAll(requests: readonly v1.EpisodeRequest[]): Promise<v1.EpisodeResult[]> {
    if (this.#closing) return Promise.reject(new EpisodeQueueError('the episode queue is closed'));
    if (this.#batch) return Promise.reject(new EpisodeQueueError('one batch at a time'));
    const ledger = new EpisodeLedger(requests);
    for (const request of requests) {
      const early = this.#early.get(request.episodeId);
      if (early && ledger.accept(early) === 'accepted')
        this.#log.info('episode answered before it was asked (a resumed round)', { episode: request.episodeId });
      this.#early.delete(request.episodeId);
    }
    if (ledger.done) return Promise.resolve(ledger.results());
    const quiet = setInterval(
      () =>
        this.#log.warn(
          `no episode answered for ${QUIET_WARN_MS / 1000} s: is an esper serve episodes --bus worker running?`,
          { outstanding: ledger.outstanding().length },
        ),
      QUIET_WARN_MS,
    );
    quiet.unref();
    const answered = new Promise<v1.EpisodeResult[]>(
      (resolve, reject) => (this.#batch = { ledger, quiet, resolve, reject }),
    );
    const outstanding = new Set(ledger.outstanding());
    for (const request of requests.filter((r) => outstanding.has(r.episodeId))) {
      const sent = this.#client.publish(request);
      if (!sent.ok) {
        this.#finish(new EpisodeQueueError(`episode ${request.episodeId} not sent: ${sent.detail}`));
        break;
      }
    }
    return answered;
  }

  dropped(): DroppedAnswers {
    return { ...this.#dropped };
  }

  /** The episodes of the batch in flight not answered yet. */
  outstanding(): string[] {
    return this.#batch?.ledger.outstanding() ?? [];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#finish(new EpisodeQueueError('the episode queue was closed'));
      await this.#client.close();
    })();
    return this.#closing;
  }

  #answered(result: v1.EpisodeResult): void {
    const batch = this.#batch;
    const verdict: ResultVerdict = batch ? batch.ledger.accept(result) : 'unknown';
    if (verdict === 'unknown' && !batch) {
      // Kept a while for the batch that may ask it (oldest first out: a bound on what strays can hold).
      this.#early.set(result.episodeId, result);
      if (this.#early.size > EARLY_KEPT) this.#early.delete(this.#early.keys().next().value!);
      return;
    }
    if (verdict !== 'accepted') {
      this.#dropped[verdict] += 1;
      this.#log.info('episode answer dropped', {
        episode: result.episodeId,
        why: verdict,
        policyVersion: result.policyVersion,
      });
      return;
    }
    batch?.quiet.refresh();
    if (batch?.ledger.done) this.#finish(null);
  }

  #finish(error: Error | null): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = null;
    clearInterval(batch.quiet);
    if (error) batch.reject(error);
    else batch.resolve(batch.ledger.results());
  }
}
