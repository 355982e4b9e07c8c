// Where `esper learn` gets its episodes played: the local pool of child processes (episode-pool.ts) or the bus
// (episode-queue.ts: workers on any machine). The learner only hands over a batch and takes the results back in
// request order, so what it learns does not depend on which it is.
import type { v1 } from '../../contracts/index.ts';
import type { DroppedAnswers } from './record.ts';

export interface EpisodeSource {
  /** Runs every request; the results come back in the requests' order, one per episode. */
  runAll(requests: readonly v1.EpisodeRequest[]): Promise<v1.EpisodeResult[]>;
  /** Stops (once: later calls wait for the same); episodes not answered yet are rejected. */
  close(): Promise<void>;
  /** A source with at-least-once delivery (the bus): the answers it dropped so far, by why. */
  dropped?(): DroppedAnswers;
}
