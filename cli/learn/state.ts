// A learning run's checkpoint, `var/learn/<id>/state.bin` (msgpack, written atomically after every finished round):
// everything `--resume` needs to go on exactly as an uninterrupted run would — the round reached, the network's
// weights, Adam's state, and the settings the run was started with.
import { existsSync, readFileSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import type { SavedTensor } from '../../actors/simic/index.ts';
import { writeFileAtomic } from '../../runtime/atomic-file.ts';
import { renameStoredSeed } from '../../runtime/seeded-random.ts';

export const LEARN_STATE_FILE = 'state.bin';
const FORMAT = 1;

export interface LearnState {
  format: number;
  learnId: string;
  curriculumFile: string;
  /** The learning run's random seed (`seed` in the checkpoints of earlier versions: read as this). */
  rngSeed: number;
  rounds: number;
  envs: number;
  episodesPerEnv: number;
  /** The last round whose update is in `weights`. */
  round: number;
  /** Encoded PolicyWeights. */
  weights: Uint8Array;
  optimizer: SavedTensor[];
}

export class LearnStateError extends Error {
  override readonly name = 'LearnStateError';
}

export function saveLearnState(file: string, state: Omit<LearnState, 'format'>): void {
  // Typed arrays as their bytes (msgpackr hands back bytes, not a Float32Array).
  const optimizer = state.optimizer.map((t) => ({
    ...t,
    values: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength),
  }));
  writeFileAtomic(file, pack({ ...state, optimizer, format: FORMAT }));
}

/** A Float32Array from stored bytes (copied: the bytes may not be aligned for a view). */
const floats = (bytes: Uint8Array): Float32Array => new Float32Array(Uint8Array.from(bytes).buffer);

export function loadLearnState(file: string): LearnState | null {
  if (!existsSync(file)) return null;
  let state: LearnState;
  try {
    state = renameStoredSeed(unpack(readFileSync(file)) as LearnState);
  } catch (error) {
    throw new LearnStateError(`${file}: unreadable (${(error as Error).message})`);
  }
  if (state?.format !== FORMAT)
    throw new LearnStateError(`${file}: format ${String(state?.format)}, expected ${FORMAT}`);
  const required: ReadonlyArray<keyof LearnState> = [
    'learnId',
    'curriculumFile',
    'rngSeed',
    'rounds',
    'envs',
    'episodesPerEnv',
    'round',
    'weights',
    'optimizer',
  ];
  const missing = required.find((field) => state[field] === undefined);
  if (missing) throw new LearnStateError(`${file}: no ${missing}`);
  state.optimizer = state.optimizer.map((t) => ({ ...t, values: floats(t.values as unknown as Uint8Array) }));
  return state;
}
