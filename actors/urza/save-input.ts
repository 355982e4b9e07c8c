// What a save must be given, and the catalog row it becomes. Pure: the library (library.ts) does the I/O in order —
// check, artifact durable, row committed — and these decide what is acceptable and what is written.
import { encodeLeyline } from '../../contracts/codec.ts';
import { leyline } from '../../contracts/index.ts';
import { isSha256Hex, sha256Hex } from './artifact-store.ts';
import type { CatalogRow } from './catalog-db.ts';
import { errorText, UrzaSaveError } from './errors.ts';
import type { SaveKernelInput } from './library-api.ts';
import { slotKey } from './slot-key.ts';

const { BlueprintTier } = leyline;

/**
 * The slot key and content hash of a valid save, or throws UrzaSaveError: `invalid_input` for a malformed input
 * (including a descriptor without a tier: no record is ever silently treated as SAFE), `checksum_mismatch` when the
 * bytes do not hash to `update.checksum`.
 */
export function checkSaveInput(input: SaveKernelInput): { key: string; hash: string } {
  const { descriptor, update, artifact } = input;
  const id = descriptor?.blueprintId ?? '';
  const invalid = (detail: string) => new UrzaSaveError('invalid_input', id, detail);
  if (!(descriptor instanceof leyline.BlueprintDescriptor))
    throw invalid('descriptor must be a Leyline BlueprintDescriptor');
  if (id === '') throw invalid('descriptor.blueprint_id is empty');
  if (descriptor.tier === BlueprintTier.BLUEPRINT_TIER_UNSPECIFIED) {
    throw invalid('descriptor.tier is UNSPECIFIED (a kernel without a tier cannot be gated by tier)');
  }
  if (!(update instanceof leyline.KernelCatalogUpdate)) throw invalid('update must be a Leyline KernelCatalogUpdate');
  if (update.blueprintId !== id)
    throw invalid(`update.blueprint_id "${update.blueprintId}" differs from the descriptor's`);
  if (!isSha256Hex(update.checksum)) throw invalid('update.checksum must be a lowercase hex SHA-256');
  if (!(artifact instanceof Uint8Array) || artifact.length === 0) throw invalid('the artifact is empty');
  if (typeof input.moduleFamily !== 'string' || input.moduleFamily === '') throw invalid('moduleFamily is empty');
  for (const [tag, value] of Object.entries(input.tags ?? {})) {
    if (typeof value !== 'string') throw invalid(`tag "${tag}" must have a string value`);
  }
  let key: string;
  try {
    key = slotKey(input.slot);
  } catch (error) {
    throw invalid(errorText(error));
  }
  const hash = sha256Hex(artifact);
  if (hash !== update.checksum) {
    throw new UrzaSaveError(
      'checksum_mismatch',
      id,
      `the artifact hashes to ${hash}, the update says ${update.checksum}`,
    );
  }
  return { key, hash };
}

export interface StoredAs {
  /** slot-key.ts form. */
  key: string;
  /** SHA-256 of the artifact: its file name and its checksum. */
  hash: string;
  /** Where the artifact store put it, relative to the root. */
  relativePath: string;
  mtimeS: number;
  /** The row this one replaces: its pre-warm timings carry over. */
  previous: CatalogRow | null;
  /** Pre-warm timings kept (the newest). */
  maxSamples: number;
  /** Epoch ms. */
  storedAtMs: number;
}

/** The catalog row of a checked save. */
export function catalogRowFor(input: SaveKernelInput, stored: StoredAs): CatalogRow {
  const { descriptor, update } = input;
  const samples = [...(stored.previous?.prewarmSamples ?? [])];
  if (update.prewarmMs > 0) samples.push(Math.fround(update.prewarmMs));
  return {
    blueprintId: descriptor.blueprintId,
    slotKey: stored.key,
    tier: descriptor.tier,
    stage: descriptor.stage,
    name: descriptor.name,
    moduleFamily: input.moduleFamily,
    contentHash: stored.hash,
    artifactPath: stored.relativePath,
    checksum: stored.hash,
    guardDigest: update.guardDigest,
    guardSummary: input.guardSummary ?? '',
    compileMs: Math.fround(update.compileMs),
    prewarmMs: Math.fround(update.prewarmMs),
    prewarmSamples: samples.slice(-stored.maxSamples),
    compileStrategy: input.strategy,
    tags: { ...input.tags },
    descriptor: new Uint8Array(encodeLeyline(descriptor)),
    artifactMtimeS: stored.mtimeS,
    storedAtMs: stored.storedAtMs,
  };
}
