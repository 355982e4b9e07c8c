// Blueprint → module: the family a blueprint's name asks for (README.md has the table), built for a slot.
import type { v1 } from '../../../contracts/index.ts';
import { FALLBACK_FAMILY, families } from './families/index.ts';
import { instantiate, type Family } from './kit.ts';
import { slotKind } from './slot.ts';
import type { BlueprintModule, SlotSpec } from './types.ts';

interface Recipe {
  /** The family the name asks for (may have no module for some slot kinds, or none at all). */
  readonly asks: string;
  /** The family built when `asks` names no family (a documented stand-in). */
  readonly standIn?: string;
}

/** Default blueprints by name (reference 04 §2.3). */
const RECIPES: Readonly<Record<string, Recipe>> = {
  identity_passthrough: { asks: 'identity' },
  skip_connection: { asks: 'identity' },
  residual_block: { asks: 'residual_mlp' },
};

/** Names outside the defaults: the first keyword the lower-cased name contains picks the family. */
const KEYWORDS: readonly (readonly [string, string])[] = [
  ['identity', 'identity'],
  ['skip', 'identity'],
];

function recipeFor(name: string): Recipe {
  const key = name.toLowerCase();
  const known = RECIPES[key];
  if (known) return known;
  for (const [keyword, family] of KEYWORDS) if (key.includes(keyword)) return { asks: family };
  return { asks: FALLBACK_FAMILY.name };
}

export interface BuildOptions {
  /** Seeds the initial weights and the per-call randomness (dropout, injected NaNs, noise). */
  seed?: number;
}

/** The family a blueprint builds for a slot kind, and the family it asked for when that is a stand-in. */
export function resolveFamily(name: string, slot: SlotSpec): { family: Family; fallbackFrom: string } {
  const kind = slotKind(slot);
  const recipe = recipeFor(name);
  const asked = families.get(recipe.asks);
  if (asked?.slotKinds.includes(kind)) return { family: asked, fallbackFrom: '' };
  const standIn = recipe.standIn ? families.get(recipe.standIn) : undefined;
  const family = standIn?.slotKinds.includes(kind) ? standIn : FALLBACK_FAMILY;
  return { family, fallbackFrom: recipe.asks };
}

/** Builds the module a blueprint's name describes, for one slot, with the given parameters. */
export function buildModule(
  descriptor: v1.BlueprintDescriptor,
  parameters: Readonly<Record<string, number>>,
  slot: SlotSpec,
  options: BuildOptions = {},
): BlueprintModule {
  const { family, fallbackFrom } = resolveFamily(descriptor.name || descriptor.blueprintId, slot);
  return instantiate({ blueprintId: descriptor.blueprintId, family, fallbackFrom, slot, parameters, seed: options.seed });
}
