// Parameter validation for a blueprint request. Checks run in a fixed order and the first failure wins:
//   1. every declared parameter, in declaration order: present, a finite number, min ≤ value ≤ max (inclusive);
//   2. then any parameter the blueprint does not declare, in the request's order: refused.
// Refusing undeclared parameters (the prototype ignored them) is this project's decision: a typo ("sacle") or a
// parameter meant for another blueprint must not be silently dropped on its way to the compiler.
import { leyline, type v1 } from '../../contracts/index.ts';
import type { KarnCatalogReader } from './catalog.ts';
import { declaredBounds } from '../../blueprints/index.ts';
import { describeBlueprint } from './descriptor.ts';
import { BlueprintRequestError } from './errors.ts';

const { BlueprintRejection: Rejection } = leyline;

/** Request parameters: the query's map (blueprint parameter name → value). */
export type RequestParameters = Readonly<Record<string, number>>;

const range = (min: number, max: number): string => `[${min}, ${max}]`;

/** The first problem with `parameters` for `descriptor`, or null when they are valid. */
export function checkParameters(
  descriptor: v1.BlueprintDescriptor,
  parameters: RequestParameters,
): BlueprintRequestError | null {
  const blueprint = describeBlueprint(descriptor);
  const declared = declaredBounds(descriptor);
  for (const [key, { min, max }] of declared) {
    if (!Object.hasOwn(parameters, key)) {
      return new BlueprintRequestError(
        Rejection.BLUEPRINT_REJECTION_MISSING_PARAMETER,
        `blueprint ${blueprint} requires parameter '${key}' in ${range(min, max)}, but it was not given`,
      );
    }
    const value = parameters[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return new BlueprintRequestError(
        Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
        `blueprint ${blueprint}: parameter '${key}'=${String(value)} is not a finite number (bounds ${range(min, max)})`,
      );
    }
    if (value < min || value > max) {
      return new BlueprintRequestError(
        Rejection.BLUEPRINT_REJECTION_PARAMETER_OUT_OF_BOUNDS,
        `blueprint ${blueprint}: parameter '${key}'=${value} is outside its bounds ${range(min, max)}`,
      );
    }
  }
  const declaredKeys = new Set(declared.map(([key]) => key));
  for (const [key, value] of Object.entries(parameters)) {
    if (declaredKeys.has(key)) continue;
    const accepted = declared.length
      ? `it declares ${declared.map(([k, b]) => `${k} ${range(b.min, b.max)}`).join(', ')}`
      : 'it declares none';
    return new BlueprintRequestError(
      Rejection.BLUEPRINT_REJECTION_UNDECLARED_PARAMETER,
      `blueprint ${blueprint}: parameter '${key}'=${String(value)} is not declared (${accepted})`,
    );
  }
  return null;
}

/** The descriptor for `blueprintId`, or a BlueprintRequestError UNKNOWN_BLUEPRINT. */
export function lookUpBlueprint(catalog: KarnCatalogReader, blueprintId: string): v1.BlueprintDescriptor {
  const descriptor = catalog.get(blueprintId);
  if (!descriptor) {
    throw new BlueprintRequestError(
      Rejection.BLUEPRINT_REJECTION_UNKNOWN_BLUEPRINT,
      `blueprint '${blueprintId}' is not in the catalog`,
    );
  }
  return descriptor;
}

/** Looks the blueprint up and validates the parameters; throws BlueprintRequestError with the reason. */
export function validateRequest(
  catalog: KarnCatalogReader,
  blueprintId: string,
  parameters: RequestParameters,
): v1.BlueprintDescriptor {
  const descriptor = lookUpBlueprint(catalog, blueprintId);
  const problem = checkParameters(descriptor, parameters);
  if (problem) throw problem;
  return descriptor;
}
