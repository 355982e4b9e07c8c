// Karn's two kinds of error: a query Karn refuses (the caller's input or policy; never a breaker failure) and a
// configuration it cannot load (stops boot, naming the field).
import { ConfigError } from '../../runtime/config-error.ts';
import type { v1 } from '../../contracts/index.ts';

/** A refused query: the Leyline reason and a sentence naming the blueprint, the key, the value and the bounds. */
export class BlueprintRequestError extends Error {
  override readonly name = 'BlueprintRequestError';
  constructor(
    readonly rejection: v1.BlueprintRejection,
    message: string,
  ) {
    super(message);
  }
}

/** A bad Karn configuration or descriptor; `field` is its path, e.g. `karn.blueprints[2].risk`. */
export class KarnConfigError extends ConfigError {
  override readonly name = 'KarnConfigError';
}
