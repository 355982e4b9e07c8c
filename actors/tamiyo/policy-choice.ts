// The run's policy from its configuration (`tamiyo.policy`, `esper run --policy`), resolved at boot so a bad policy
// file stops the run before anything starts, with the file and the problem named.
import type { SignatureContext } from '../../contracts/signing.ts';
import {
  graphSchema,
  loadShippedPolicy,
  readPolicyFile,
  SHIPPED_POLICY_MANIFEST,
  ShippedPolicyError,
} from '../../policy/index.ts';
import { HEURISTIC_POLICY, RANDOM_POLICY, type PolicySpec } from './policy-versions.ts';
import type { TamiyoSettings } from './settings.ts';

/**
 * The configured policy as a spec; null for "promoted" (the controller reads the promoted one when it starts). The
 * shipped policy falls back to the heuristic when it cannot be used (a damaged file, another graph schema): `warn`
 * says why, naming the file.
 */
export function resolvePolicy(
  settings: Pick<TamiyoSettings, 'policy' | 'mode' | 'temperature'>,
  signing: SignatureContext,
  warn: (message: string) => void,
  shippedManifest = SHIPPED_POLICY_MANIFEST,
): PolicySpec | null {
  const choice = settings.policy;
  switch (choice.kind) {
    case 'shipped': {
      try {
        const { manifest, weights } = loadShippedPolicy(shippedManifest);
        if (manifest.graphSchema !== graphSchema()) {
          warn(
            `shipped policy ${shippedManifest} expects another graph (${manifest.graphSchema}); deciding with the heuristic`,
          );
          return HEURISTIC_POLICY;
        }
        return {
          version: manifest.version,
          kind: 'network',
          weights,
          update: null,
          mode: settings.mode,
          temperature: settings.temperature,
        };
      } catch (error) {
        if (!(error instanceof ShippedPolicyError)) throw error;
        warn(`${error.message}; deciding with the heuristic`);
        return HEURISTIC_POLICY;
      }
    }
    case 'promoted':
      return null;
    case 'heuristic':
      return HEURISTIC_POLICY;
    case 'random':
      return RANDOM_POLICY;
    case 'file': {
      const { version, weights, update } = readPolicyFile(choice.path, signing);
      return { version, kind: 'network', weights, update, mode: settings.mode, temperature: settings.temperature };
    }
  }
}
