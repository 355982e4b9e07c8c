// Which AdaptationCommands Kasmina admits, and the receipt each gets, as plain logic: no actors, no tensors. The
// manager (seed-manager-actor.ts) gathers the facts, asks `admit`, carries the decision out and answers with
// `receiptFor`. The rules, in the order they are checked:
//   Tolaria's conservative no-op at a control boundary needs no signature: nothing to do.
//   Anything else must pass the verifier (signature, nonce, freshness); else it is refused with its verdict.
//   COMMAND_EMERGENCY culls every seed on trial. PAUSE naming no seed is Tamiyo's hold; naming one it must know.
//   Commands other than seed operations are Tolaria's to apply. A seed operation names its seed; GERMINATE names a
//   slot, needs the isolation breaker closed, a slot not under embargo (a seed culled there not yet DORMANT) and not
//   held by another seed (on trial or fossilized); any other operation needs a seed Kasmina knows.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { CommandVerification } from '../../contracts/command-signing.ts';
import { EMBARGO_STAGES, TRIAL_STAGES } from './lifecycle.ts';

const { CommandType, SeedLifecycleStage, SeedOperation } = leyline;

/** Stages in which a seed holds its slot for good or for its trial: no other seed may be grafted there. */
const HOLDING: ReadonlySet<number> = new Set([...TRIAL_STAGES, SeedLifecycleStage.SEED_STAGE_FOSSILIZED]);

/** What the manager knows when a command arrives. */
export interface AdmissionFacts {
  /** The seeds it runs, in the order they were spawned. */
  readonly seeds: readonly string[];
  /** Each seed's slot, in the order the slots were given (a culled seed keeps its slot until it is DORMANT). */
  readonly slots: ReadonlyMap<string, string>;
  /** Each seed's state as last reported. */
  readonly board: ReadonlyMap<string, v1.SeedState>;
  /** The verifier's judgement; asked only for a command that needs one (it uses up the command's nonce). */
  verify(): CommandVerification;
  /** Whether the isolation breaker lets a new graft through; asked only for a GERMINATE naming a slot (a half-open breaker counts the trial). */
  isolationAllows(): boolean;
}

export type Admission =
  /** Tolaria's no-op at a control boundary: nothing to verify or do. */
  | { kind: 'boundary'; reason: string }
  /** Not applied: counted and reported. `verified`: it passed the verifier (it is a decision at a boundary). */
  | { kind: 'refused'; reason: string; verified: boolean }
  /** Tamiyo's hold: a verified decision to change nothing. */
  | { kind: 'hold' }
  /** Verified, and Tolaria's to apply (optimizer, rollback…): not applied here, and not a refusal. */
  | { kind: 'not_seed_command'; reason: string }
  /** COMMAND_EMERGENCY: these seeds, on trial, are culled. */
  | { kind: 'emergency'; cull: readonly string[] }
  /** The command goes to `seedId`. A GERMINATE first gives it `slotId`, and `spawn`s the seed when it is new. */
  | { kind: 'hand_over'; seedId: string; germinate: { slotId: string; spawn: boolean } | null };

/** Tolaria's no-op at a control boundary (control-hook.ts): it changes nothing, so it needs no signature. */
export const isBoundaryNoOp = (command: v1.AdaptationCommand): boolean =>
  command.commandType === CommandType.COMMAND_UNKNOWN &&
  (command.annotations?.mode === 'conservative' || command.annotations?.mode === 'no_decision') &&
  !command.seedOperation;

const stageOf = (facts: AdmissionFacts, seedId: string): number => facts.board.get(seedId)?.stage ?? 0;

export function admit(command: v1.AdaptationCommand, facts: AdmissionFacts): Admission {
  if (isBoundaryNoOp(command)) return { kind: 'boundary', reason: `${command.annotations?.mode}: nothing to do` };
  const verdict = facts.verify();
  if (!verdict.accepted) return { kind: 'refused', reason: verdict.reason, verified: false };
  const refuse = (reason: string): Admission => ({ kind: 'refused', reason, verified: true });
  if (command.commandType === CommandType.COMMAND_EMERGENCY) {
    return { kind: 'emergency', cull: facts.seeds.filter((seedId) => TRIAL_STAGES.has(stageOf(facts, seedId))) };
  }
  const known = (seedId: string): boolean => facts.seeds.includes(seedId);
  if (command.commandType === CommandType.COMMAND_PAUSE) {
    if (!command.targetSeedId) return { kind: 'hold' };
    if (!known(command.targetSeedId)) return refuse(`unknown seed ${command.targetSeedId}`);
    return { kind: 'hand_over', seedId: command.targetSeedId, germinate: null };
  }
  if (command.commandType !== CommandType.COMMAND_SEED || !command.seedOperation) {
    return {
      kind: 'not_seed_command',
      reason: `not a seed command (${leyline.CommandType[command.commandType] ?? String(command.commandType)})`,
    };
  }
  const seedId = command.targetSeedId;
  if (!seedId) return refuse('target_seed_id is empty');
  if (command.seedOperation.operation !== SeedOperation.SEED_OP_GERMINATE) {
    return known(seedId) ? { kind: 'hand_over', seedId, germinate: null } : refuse(`unknown seed ${seedId}`);
  }
  const slotId = command.annotations?.slot_id ?? '';
  if (!slotId) return refuse('annotation slot_id is empty');
  if (!facts.isolationAllows()) return refuse('isolation breaker open: no new grafts until it closes');
  const other = (stages: ReadonlySet<number>): string | undefined =>
    [...facts.slots].find(([id, slot]) => slot === slotId && id !== seedId && stages.has(stageOf(facts, id)))?.[0];
  const embargoed = other(EMBARGO_STAGES);
  if (embargoed) return refuse(`slot ${slotId} is under embargo (seed ${embargoed} was culled there)`);
  const holder = other(HOLDING);
  if (holder) return refuse(`slot ${slotId} holds seed ${holder}`);
  return { kind: 'hand_over', seedId, germinate: { slotId, spawn: !known(seedId) } };
}

/** The receipt for `command` as admitted, with the seeds' states as they are when it is sent. */
export function receiptFor(
  command: v1.AdaptationCommand,
  admission: Admission,
  states: Iterable<v1.SeedState>,
): v1.AdaptationReceipt {
  const outcome = ((): { applied: boolean; reason: string } => {
    switch (admission.kind) {
      case 'boundary':
        return { applied: true, reason: admission.reason };
      case 'refused':
      case 'not_seed_command':
        return { applied: false, reason: admission.reason };
      case 'hold':
        return { applied: true, reason: 'hold' };
      case 'emergency':
        return { applied: true, reason: `culled ${admission.cull.length}` };
      case 'hand_over':
        return { applied: true, reason: '' };
    }
  })();
  return leyline.AdaptationReceipt.create({ commandId: command.commandId, ...outcome, seedStates: [...states] });
}
