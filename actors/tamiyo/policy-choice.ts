// The run's policy from its configuration (`tamiyo.policy`, `esper run --policy`), resolved at boot so a bad policy
// file stops the run before anything starts, with the file and the problem named.
import type { SignatureContext } from '../../contracts/signing.ts';
import { readPolicyFile } from '../../policy/index.ts';
import { HEURISTIC_POLICY, RANDOM_POLICY, type PolicySpec } from './controller-actor.ts';
import type { TamiyoSettings } from './settings.ts';

/** The configured policy as a spec; null for "promoted" (the controller reads the promoted one when it starts). */
export function resolvePolicy(settings: Pick<TamiyoSettings, 'policy' | 'mode' | 'temperature'>, signing: SignatureContext): PolicySpec | null {
  const choice = settings.policy;
  switch (choice.kind) {
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
