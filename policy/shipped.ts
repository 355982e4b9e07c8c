// The policy that ships with the package (`policies/`): its weights, an encoded PolicyWeights, beside a manifest that
// says where they came from (the learning run's curriculum, rngSeed and exact command, its held-out results), the graph
// schema they expect and their SHA-256. A policy file `esper learn` saves is signed with its folder's secret, which no
// other folder has; the shipped one is trusted as part of the package instead, and its checksum is checked at every
// load, so a tampered or truncated file is refused by name.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { leyline, type v1 } from '../contracts/index.ts';
import { writeFileAtomic } from '../runtime/atomic-file.ts';
import { renameStoredSeed } from '../runtime/seeded-random.ts';
import { array, number, object, optional, string, validate } from '../runtime/schema.ts';
import { ARCHITECTURE, checkWeights, PolicyWeightsError } from './gnn.ts';
import { EDGE_DIM, FEATURE_DIMS, NODE_TYPES, RELATIONS } from './graph.ts';

/** The package's policies folder and the manifest `esper run` reads by default. */
export const SHIPPED_POLICY_DIR = fileURLToPath(new URL('../policies/', import.meta.url));
export const SHIPPED_POLICY_MANIFEST = join(SHIPPED_POLICY_DIR, 'growth.json');

/**
 * What a policy's weights assume of the graphs it is shown: the network's architecture, each node type's feature
 * width, the edge width and the relations. A policy fits a run when its manifest's schema equals this build's.
 */
export function graphSchema(): string {
  const nodes = NODE_TYPES.map((type) => `${type}:${FEATURE_DIMS[type]}`).join(',');
  const relations = RELATIONS.map((r) => `${r.source}-${r.name}-${r.target}`).join(',');
  return `${ARCHITECTURE}; nodes ${nodes}; edge ${EDGE_DIM}; relations ${relations}`;
}

export interface HeldOutFigures {
  task: string;
  policy: string;
  testAccuracy: number;
  addedParameters: number;
}

export interface PolicyManifest {
  /** The version decisions name ("decided by …"). */
  version: string;
  /** The weights file, beside the manifest. */
  file: string;
  sha256: string;
  graphSchema: string;
  curriculum: string;
  /** The learning run's random seed. */
  rngSeed: number;
  rounds: number;
  /** The exact commands that trained and packed it. */
  command: string;
  /** The learning run's held-out episodes (mean per task and policy). */
  heldOut?: HeldOutFigures[];
}

const MANIFEST = object({
  version: string({ pattern: /^[\w.-]+$/, rule: 'letters, digits, _ . -' }),
  file: string({ pattern: /^[\w.-]+\.pb$/, rule: 'a .pb file name beside the manifest' }),
  sha256: string({ pattern: /^[0-9a-f]{64}$/, rule: '64 hex digits' }),
  graphSchema: string(),
  curriculum: string(),
  rngSeed: number({ integer: true, min: 0 }),
  rounds: number({ integer: true, min: 1 }),
  command: string(),
  heldOut: optional(
    array(object({ task: string(), policy: string(), testAccuracy: number(), addedParameters: number({ min: 0 }) })),
  ),
});

export class ShippedPolicyError extends Error {
  override readonly name = 'ShippedPolicyError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`shipped policy ${file}: ${problem}`);
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Reads a manifest and its weights; throws ShippedPolicyError naming the file and the problem. */
export function loadShippedPolicy(manifestPath = SHIPPED_POLICY_MANIFEST): {
  manifest: PolicyManifest;
  weights: v1.PolicyWeights;
} {
  if (!existsSync(manifestPath)) throw new ShippedPolicyError(manifestPath, 'no such file');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new ShippedPolicyError(manifestPath, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  // A manifest written while the random seed was `seed` (by an earlier `esper learn --ship`) still loads.
  const stored = renameStoredSeed(raw);
  const issues = validate(MANIFEST, stored);
  if (issues.length > 0)
    throw new ShippedPolicyError(manifestPath, issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  const manifest = stored as PolicyManifest;
  const file = join(dirname(manifestPath), manifest.file);
  if (!existsSync(file)) throw new ShippedPolicyError(file, 'no such file (named by the manifest)');
  const bytes = readFileSync(file);
  const digest = sha256(bytes);
  if (digest !== manifest.sha256)
    throw new ShippedPolicyError(
      file,
      `SHA-256 ${digest} is not the manifest's ${manifest.sha256}: the file was altered or cut short`,
    );
  const decoded = decodeLeyline(leyline.PolicyWeights, bytes);
  if (!decoded.ok) throw new ShippedPolicyError(file, `not PolicyWeights (${decoded.error.message})`);
  try {
    checkWeights(decoded.message);
  } catch (error) {
    if (error instanceof PolicyWeightsError) throw new ShippedPolicyError(file, error.message);
    throw error;
  }
  return { manifest, weights: decoded.message };
}

/**
 * Writes `weights` and their manifest (`<dir>/<name>.pb`, `<dir>/<name>.json`); the version defaults to the name and
 * the first 8 hex digits of the SHA-256. Returns the manifest written.
 */
export function writeShippedPolicy(
  dir: string,
  name: string,
  weights: v1.PolicyWeights,
  about: Omit<PolicyManifest, 'file' | 'sha256' | 'graphSchema' | 'version'> & { version?: string },
): PolicyManifest {
  checkWeights(weights);
  const bytes = encodeLeyline(weights);
  const digest = sha256(bytes);
  const manifest: PolicyManifest = {
    ...about,
    version: about.version ?? `${name}-${digest.slice(0, 8)}`,
    file: `${name}.pb`,
    sha256: digest,
    graphSchema: graphSchema(),
  };
  writeFileAtomic(join(dir, manifest.file), bytes);
  writeFileAtomic(join(dir, `${name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
