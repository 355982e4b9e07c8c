// Start-up recovery: bring the catalog and the artifact directory back to the one invariant Urza promises —
// every row points at a complete artifact whose SHA-256 is the row's checksum. Because a save commits its row only
// after the artifact is durable under its hash name (artifact-store.ts), a crash can leave only debris that no row
// references (temp files, unreferenced artifacts); rows that break the invariant come from outside damage (a file
// deleted or altered by hand, a disk fault) and are evicted, and counted, rather than served.
import type { ArtifactStore } from './artifact-store.ts';
import { sha256Hex } from './artifact-store.ts';
import { rowDescriptor, type CatalogDb, type CatalogRow } from './catalog-db.ts';

export interface RecoveryOptions {
  /** Hash every artifact against its row (default true). False only checks that the files exist. */
  verifyChecksums?: boolean;
  /** Delete artifact files no row references (default true: Urza owns its artifacts directory). */
  removeUnreferenced?: boolean;
}

export interface RecoveryReport {
  rowsChecked: number;
  tempFilesRemoved: number;
  /** Rows evicted because their artifact file was missing. */
  missingEvicted: number;
  /** Rows evicted because their artifact's hash differed from their checksum, or their descriptor did not decode. */
  corruptEvicted: number;
  unreferencedRemoved: number;
  elapsedMs: number;
}

export function recoverCatalog(db: CatalogDb, store: ArtifactStore, options: RecoveryOptions = {}): RecoveryReport {
  const started = performance.now();
  const verify = options.verifyChecksums ?? true;
  const tempFilesRemoved = store.removeTempFiles();
  const rows = db.query();
  const missing: CatalogRow[] = [];
  const corrupt: CatalogRow[] = [];
  // A file is hashed once however many rows share it.
  const hashOk = new Map<string, boolean>();
  for (const row of rows) {
    if (!isDecodable(row)) {
      corrupt.push(row);
      continue;
    }
    if (!verify) {
      if (!store.exists(row.artifactPath)) missing.push(row);
      continue;
    }
    let ok = hashOk.get(row.artifactPath);
    if (ok === undefined) {
      const bytes = store.read(row.artifactPath);
      if (bytes === null) {
        missing.push(row);
        continue;
      }
      ok = sha256Hex(bytes) === row.checksum && row.checksum === row.contentHash;
      hashOk.set(row.artifactPath, ok);
    }
    if (!ok) corrupt.push(row);
  }
  db.transaction(() => {
    for (const row of [...missing, ...corrupt]) db.delete(row.blueprintId, row.slotKey);
  });
  let unreferencedRemoved = 0;
  if (options.removeUnreferenced ?? true) {
    const referenced = db.referencedPaths();
    for (const path of store.listArtifacts()) {
      if (!referenced.has(path) && store.remove(path)) unreferencedRemoved += 1;
    }
  } else {
    // Corrupt files are never worth keeping, whatever the policy for merely unreferenced ones.
    for (const row of corrupt) if (db.references(row.contentHash) === 0) store.remove(row.artifactPath);
  }
  return {
    rowsChecked: rows.length,
    tempFilesRemoved,
    missingEvicted: missing.length,
    corruptEvicted: corrupt.length,
    unreferencedRemoved,
    elapsedMs: performance.now() - started,
  };
}

function isDecodable(row: CatalogRow): boolean {
  try {
    rowDescriptor(row);
    return true;
  } catch {
    return false;
  }
}
