// Housekeeping's verdict on the catalog: which rows are past the entry TTL, and which point at an artifact that is
// gone or (when checksums are verified) no longer matches. Pure: the library supplies the checks and evicts.
import type { CatalogRow } from './catalog-db.ts';

export type ArtifactVerdict = 'ok' | 'missing' | 'corrupt';

export interface RowAudit {
  expired: CatalogRow[];
  missing: CatalogRow[];
  corrupt: CatalogRow[];
}

/** Sorts rows into expired / missing / corrupt; a file shared by several rows is checked once. */
export function auditRows(
  rows: readonly CatalogRow[],
  isExpired: (row: CatalogRow) => boolean,
  artifactVerdict: (row: CatalogRow) => ArtifactVerdict,
): RowAudit {
  const audit: RowAudit = { expired: [], missing: [], corrupt: [] };
  const verdicts = new Map<string, ArtifactVerdict>();
  for (const row of rows) {
    if (isExpired(row)) {
      audit.expired.push(row);
      continue;
    }
    let verdict = verdicts.get(row.artifactPath);
    if (verdict === undefined) {
      verdict = artifactVerdict(row);
      verdicts.set(row.artifactPath, verdict);
    }
    if (verdict === 'missing') audit.missing.push(row);
    else if (verdict === 'corrupt') audit.corrupt.push(row);
  }
  return audit;
}
