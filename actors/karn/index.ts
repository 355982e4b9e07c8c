// Karn's public surface. Other subsystems import from here only: the actor for the tree, and KarnCatalogReader
// to read blueprint descriptors in process (Tezzeret, Urza, Tamiyo).
export type { KarnCatalogReader, CustomBlueprintConfig } from './catalog.ts';
export { BlueprintCatalog } from './catalog.ts';
export { setUpKarn, type KarnConfig, type KarnSetup } from './settings.ts';
export { BlueprintRequestError, KarnConfigError } from './errors.ts';
export { karnLogic, KARN_TELEMETRY_TIMER, type KarnActorOptions, type KarnMessage } from './karn-actor.ts';
export { defaultBlueprints } from './templates.ts';
export { validateRequest, type RequestParameters } from './validation.ts';
export { midpointParameters } from '../../blueprints/index.ts';
export { blueprintCost, trainableParameters } from '../../blueprints/index.ts';
