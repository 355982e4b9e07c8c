// identity: the input, unchanged. No weights (identity_passthrough, skip_connection).
import type { Family } from '../kit.ts';

export const identity: Family = {
  name: 'identity',
  slotKinds: ['dense', 'conv'],
  defaults: {},
  build: () => ({ apply: (input) => input }),
};
