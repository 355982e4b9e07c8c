// Small helpers over BlueprintDescriptor: deep copies (the catalog never hands out its own objects), float32
// risk, and Leyline enum names for logs, events and error sentences.
import { leyline, type v1 } from '../../contracts/index.ts';

/**
 * A deep copy as a fresh Leyline instance. Risk is stored as the float32 the wire carries (0.1 → 0.10000000149…),
 * so a descriptor compares the same before and after an encode/decode round trip.
 */
/** A descriptor's fields, its parameter bounds as plain {minValue, maxValue} (copyDescriptor makes them Leyline). */
export type DescriptorFields = Omit<v1.BlueprintDescriptor.$Properties, 'allowedParameters'> & {
  allowedParameters?: Readonly<Record<string, { minValue?: number | null; maxValue?: number | null }>> | null;
};

export function copyDescriptor(descriptor: DescriptorFields): v1.BlueprintDescriptor {
  const allowedParameters: Record<string, v1.BlueprintParameterBounds> = {};
  for (const [key, bounds] of Object.entries(descriptor.allowedParameters ?? {})) {
    allowedParameters[key] = leyline.BlueprintParameterBounds.create({
      minValue: bounds.minValue ?? 0,
      maxValue: bounds.maxValue ?? 0,
    });
  }
  return leyline.BlueprintDescriptor.create({
    blueprintId: descriptor.blueprintId ?? '',
    name: descriptor.name ?? '',
    tier: descriptor.tier ?? leyline.BlueprintTier.BLUEPRINT_TIER_UNSPECIFIED,
    allowedParameters,
    risk: Math.fround(descriptor.risk ?? 0),
    stage: descriptor.stage ?? 0,
    quarantineOnly: descriptor.quarantineOnly ?? false,
    approvalRequired: descriptor.approvalRequired ?? false,
    description: descriptor.description ?? '',
  });
}

/** The name of a value of a Leyline enum ("BLUEPRINT_TIER_SAFE"), or the number when it has none. */
export function enumName(enumObject: object, value: number): string {
  for (const [name, number] of Object.entries(enumObject)) if (number === value) return name;
  return String(value);
}

export const tierName = (tier: v1.BlueprintTier): string => enumName(leyline.BlueprintTier, tier);
export const rejectionName = (rejection: v1.BlueprintRejection): string =>
  enumName(leyline.BlueprintRejection, rejection);
export const breakerStateName = (state: v1.CircuitBreakerState): string => enumName(leyline.CircuitBreakerState, state);

/** "BP002 (linear_projection)": how sentences name a blueprint. */
export const describeBlueprint = (descriptor: v1.BlueprintDescriptor): string =>
  descriptor.name ? `${descriptor.blueprintId} (${descriptor.name})` : descriptor.blueprintId;
