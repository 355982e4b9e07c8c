// The graft table: which seed module sits at which host slot, in which stage, with which alpha. It is process-local
// and read synchronously by the host's forward pass (tensors never travel in messages); Kasmina's seed actors write
// it, Tolaria's training step reads it.
import type { v1 } from '../contracts/index.ts';
import type { BlueprintModule } from '../blueprints/index.ts';

export interface Graft {
  readonly seedId: string;
  readonly slotId: string;
  readonly module: BlueprintModule;
  /** The seed's lifecycle stage decides how the slot's output is formed (graft-forward.ts). */
  stage: v1.SeedLifecycleStage;
  /** Blend weight in [0, 1], used while BLENDING. */
  alpha: number;
  /** Set when the module threw in the forward pass: from then on the slot bypasses it (graft-forward.ts). */
  failure?: string;
}

export class GraftTableError extends Error {
  override readonly name = 'GraftTableError';
}

/** At most one graft per slot: a second seed for an occupied slot is refused (the first must be removed). */
export class GraftTable {
  readonly #bySlot = new Map<string, Graft>();
  #version = 0;

  /** Changes whenever a graft is added, removed or changes stage (lets the trainer know to rebuild optimizers). */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#bySlot.size;
  }

  attach(graft: Graft): void {
    const present = this.#bySlot.get(graft.slotId);
    if (present && present.seedId !== graft.seedId) {
      throw new GraftTableError(
        `slot ${graft.slotId} already holds seed ${present.seedId}; remove it before grafting ${graft.seedId}`,
      );
    }
    if (!(graft.alpha >= 0 && graft.alpha <= 1))
      throw new GraftTableError(`alpha of seed ${graft.seedId} must be in [0, 1], got ${graft.alpha}`);
    this.#bySlot.set(graft.slotId, graft);
    this.#version += 1;
  }

  /** Updates a grafted seed's stage and/or alpha. */
  update(seedId: string, change: { stage?: v1.SeedLifecycleStage; alpha?: number }): void {
    const graft = this.bySeed(seedId);
    if (!graft) throw new GraftTableError(`no graft for seed ${seedId}`);
    if (change.alpha !== undefined) {
      if (!(change.alpha >= 0 && change.alpha <= 1))
        throw new GraftTableError(`alpha of seed ${seedId} must be in [0, 1], got ${change.alpha}`);
      graft.alpha = change.alpha;
    }
    if (change.stage !== undefined && change.stage !== graft.stage) {
      graft.stage = change.stage;
      this.#version += 1;
    }
  }

  /** Removes a seed's graft; returns it (its module is the caller's to dispose). */
  detach(seedId: string): Graft | null {
    const graft = this.bySeed(seedId);
    if (!graft) return null;
    this.#bySlot.delete(graft.slotId);
    this.#version += 1;
    return graft;
  }

  at(slotId: string): Graft | undefined {
    return this.#bySlot.get(slotId);
  }

  bySeed(seedId: string): Graft | undefined {
    for (const graft of this.#bySlot.values()) if (graft.seedId === seedId) return graft;
    return undefined;
  }

  all(): Graft[] {
    return [...this.#bySlot.values()];
  }
}
