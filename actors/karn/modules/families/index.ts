// Every family by name: buildModule picks one from a blueprint's name, deserializeModule from the stored name.
import type { Family } from '../kit.ts';
import { identity } from './identity.ts';
import { residualMlp } from './residual-mlp.ts';

const ALL: readonly Family[] = [identity, residualMlp];

export const families: ReadonlyMap<string, Family> = new Map(ALL.map((family) => [family.name, family]));

/** The family a blueprint builds when its name has no module for the slot kind. */
export const FALLBACK_FAMILY = residualMlp;
