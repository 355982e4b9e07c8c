// Which of a batch's episodes are still outstanding, and which results count, when episodes travel over the bus
// (episode-queue.ts): delivery there is at least once — a worker killed mid-episode has its request claimed and
// run again, a resumed learner sends its round again — so one episode may be answered more than once. The first
// answer of the policy version the request named counts; a copy is a duplicate (never learned from twice), an
// answer of another version is stale (a worker that ran an older request), an unknown id is not this batch's.
import type { v1 } from '../../contracts/index.ts';

export type ResultVerdict = 'accepted' | 'duplicate' | 'wrong-version' | 'unknown';

/**
 * The version an episode must report: a network policy's own version; for the other kinds, none checked (their
 * version is the kind's fixed name, and the id already says which baseline the episode is).
 */
export function expectedVersion(request: v1.EpisodeRequest): string | null {
  return request.policyKind === 'network' ? (request.policy?.tamiyoPolicyVersion ?? '') : null;
}

interface Expected {
  index: number;
  version: string | null;
  result: v1.EpisodeResult | null;
}

export class EpisodeLedger {
  readonly #episodes = new Map<string, Expected>();
  #answered = 0;

  /** The batch, in request order (results come back in it). Episode ids must be unique. */
  constructor(requests: readonly v1.EpisodeRequest[]) {
    requests.forEach((request, index) => {
      if (this.#episodes.has(request.episodeId)) throw new Error(`episode ${request.episodeId} is in the batch twice`);
      this.#episodes.set(request.episodeId, { index, version: expectedVersion(request), result: null });
    });
  }

  /** Records a result if it is the first of its episode and of the version asked for. */
  accept(result: v1.EpisodeResult): ResultVerdict {
    const expected = this.#episodes.get(result.episodeId);
    if (!expected) return 'unknown';
    if (expected.result) return 'duplicate';
    // A failed episode may not have got as far as reading its policy (its version is empty): it is still its answer.
    const reported = result.policyVersion;
    if (expected.version !== null && reported !== expected.version && !(result.ok === false && reported === ''))
      return 'wrong-version';
    expected.result = result;
    this.#answered += 1;
    return 'accepted';
  }

  get done(): boolean {
    return this.#answered === this.#episodes.size;
  }

  /** The ids not answered yet, in request order. */
  outstanding(): string[] {
    return [...this.#episodes].filter(([, e]) => !e.result).map(([id]) => id);
  }

  /** Every result in request order; throws while some are outstanding. */
  results(): v1.EpisodeResult[] {
    const results: v1.EpisodeResult[] = [];
    for (const [id, e] of this.#episodes) {
      if (!e.result) throw new Error(`episode ${id} is not answered yet`);
      results[e.index] = e.result;
    }
    return results;
  }
}
