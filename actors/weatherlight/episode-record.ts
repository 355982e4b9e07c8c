// What an episode's trainer reports as it goes (its monitor's epoch summaries and its result), kept until the episode
// ends and turned, with the decisions' field reports, into the EpisodeResult the learner rewards.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { EpochSummary, RunResult } from '../tolaria/index.ts';

interface SeedTrack {
  seedId: string;
  slot: string;
  blueprintId: string;
  parameters: number;
  firstEpoch: number;
  lastEpoch: number;
  stage: string;
}

/** Stages of a seed that are no longer in the network. */
const GONE: ReadonlySet<string> = new Set(['culled', 'embargoed', 'resetting', 'dormant', 'terminated', 'gone']);

export class EpisodeRecord {
  readonly epochs: v1.EpisodeEpoch[] = [];
  readonly #seeds = new Map<string, SeedTrack>();
  hostParameters = 0;
  /** The weights the grafted seeds added to the forward pass at the last boundary. */
  #added = 0;
  result: RunResult | null = null;

  epoch(summary: EpochSummary): void {
    this.hostParameters = summary.parameters.host;
    this.#added = summary.parameters.seeds;
    // A seed missing from the boundary's list has left the network, whatever stage it was last seen in.
    const reported = new Set(summary.seeds.map((seed) => seed.id));
    for (const track of this.#seeds.values())
      if (!reported.has(track.seedId) && !GONE.has(track.stage)) track.stage = 'gone';
    this.epochs.push(
      leyline.EpisodeEpoch.create({
        epoch: summary.epoch + 1,
        validationAccuracy: summary.validationAccuracy ?? 0,
        validationLoss: summary.validationLoss ?? 0,
        seedParameters: summary.parameters.seeds,
      }),
    );
    for (const seed of summary.seeds) {
      const known = this.#seeds.get(seed.id);
      const track: SeedTrack = known ?? {
        seedId: seed.id,
        slot: seed.slot,
        blueprintId: seed.blueprint,
        parameters: seed.parameters,
        firstEpoch: summary.epoch + 1,
        lastEpoch: summary.epoch + 1,
        stage: seed.stage,
      };
      // Slot and blueprint are reported while the seed is grafted; its cost is the most it was seen with.
      track.slot ||= seed.slot;
      track.blueprintId ||= seed.blueprint;
      track.parameters = Math.max(track.parameters, seed.parameters);
      track.stage = seed.stage;
      if (!GONE.has(seed.stage)) track.lastEpoch = summary.epoch + 1;
      this.#seeds.set(seed.id, track);
    }
  }

  finished(result: RunResult): void {
    this.result = result;
  }

  /** The seeds as the episode ended (a seed no longer reported keeps its last stage). */
  seeds(): v1.EpisodeSeed[] {
    return [...this.#seeds.values()].map((t) => leyline.EpisodeSeed.create({ ...t }));
  }

  /** The weights the seeds still in the network add at the end. */
  addedParameters(): number {
    return this.#added;
  }

  toResult(
    request: v1.EpisodeRequest,
    reports: readonly v1.FieldReport[],
    policyVersion: string,
    seconds: number,
  ): v1.EpisodeResult {
    const last = this.epochs.at(-1);
    return leyline.EpisodeResult.create({
      episodeId: request.episodeId,
      round: request.round,
      taskName: request.taskName,
      rngSeed: request.rngSeed,
      ok: this.result !== null,
      error: this.result === null ? 'the run ended without a result' : '',
      reports: [...reports],
      epochs: this.epochs,
      seeds: this.seeds(),
      testAccuracy: this.result?.testAccuracy ?? 0,
      finalValidationAccuracy: last?.validationAccuracy ?? 0,
      hostParameters: this.hostParameters,
      addedParameters: this.addedParameters(),
      seconds,
      policyVersion,
    });
  }
}
