// Urza's typed errors. Outcomes a caller must handle (not found, unavailable, corrupt) are results, not errors;
// these are for bad arguments and refused saves.

/** The message of anything thrown, for an error or result that wraps it. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A caller passed something Urza cannot act on (empty id, bad slot shape, malformed checksum). */
export class UrzaInputError extends Error {
  override readonly name: string = 'UrzaInputError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`urza: ${field} ${problem}`);
  }
}

/** Why a save stored nothing. */
export type SaveErrorCode = 'checksum_mismatch' | 'invalid_input' | 'unavailable' | 'io_error';

export class UrzaSaveError extends Error {
  override readonly name = 'UrzaSaveError';
  constructor(
    readonly code: SaveErrorCode,
    readonly blueprintId: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`urza: cannot save ${blueprintId || '(no id)'} (${code}): ${detail}`, options);
  }
}

/** fetchKernel needs a codec to build modules; the library was opened without one. */
export class NoKernelCodecError extends Error {
  override readonly name = 'NoKernelCodecError';
  constructor() {
    super('urza: fetchKernel needs a KernelCodec (open the library with `codec`, e.g. openUrzaLibrary())');
  }
}
