// How a batch is shared among a data-parallel run's replicas, and how their results are weighed. Pure: the same
// batch size and replica count always give the same shards, whichever replicas are alive, so a run's numbers never
// depend on which thread computed a shard (a dead replica's shard is computed by the training thread instead).

export interface Shard {
  /** The replica that owns it (0 is the training thread). */
  readonly replica: number;
  readonly start: number;
  readonly end: number;
  /** Its share of the batch mean: size / batch size. */
  readonly weight: number;
}

/**
 * Contiguous shards in replica order; sizes differ by at most one (the leading shards take the remainder). A batch
 * smaller than the replica count leaves the last replicas without a shard.
 */
export function shardBatch(size: number, replicas: number): Shard[] {
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new RangeError(`replicas must be an integer >= 1, got ${replicas}`);
  const base = Math.floor(size / replicas);
  const extra = size % replicas;
  const shards: Shard[] = [];
  let start = 0;
  for (let replica = 0; replica < replicas; replica++) {
    const end = start + base + (replica < extra ? 1 : 0);
    if (end > start) shards.push({ replica, start, end, weight: (end - start) / size });
    start = end;
  }
  return shards;
}

/** The largest shard a batch of `batchSize` gives (the size of a replica's input buffer). */
export const largestShard = (batchSize: number, replicas: number): number => Math.ceil(batchSize / replicas);
