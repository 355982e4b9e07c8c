// Urza's catalog: one SQLite file, one row per (blueprint, slot shape). better-sqlite3 is synchronous, which suits
// one call at a time. WAL journal + synchronous=FULL: a committed row survives kill -9 and power loss, and readers in
// other processes read while the owner (owner-lock.ts) writes. The schema evolves only through the numbered
// migrations below, recorded in `schema_migrations`; any process may apply them (one transaction, serialised by
// SQLite), so a reader that opens a new root first finds a usable, empty catalog.
import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { leyline, type v1 } from '../../contracts/index.ts';
import { fromTimestamp, toTimestamp } from '../../contracts/time.ts';
import { slotShapeOf } from './slot-key.ts';
import { openSqlite } from '../../runtime/sqlite.ts';

/** One catalog row as Urza holds it in memory (plain TypeScript: it never crosses an actor boundary as is). */
export interface CatalogRow {
  blueprintId: string;
  /** slot-key.ts: "32", "8x8x4". */
  slotKey: string;
  tier: v1.BlueprintTier;
  stage: number;
  name: string;
  moduleFamily: string;
  /** SHA-256 of the artifact bytes; names the file. */
  contentHash: string;
  /** Relative to the library root, e.g. "artifacts/<hash>.kernel" (the root may move). */
  artifactPath: string;
  /** What the artifact must hash to when loaded (lowercase hex SHA-256; equal to contentHash by construction). */
  checksum: string;
  guardDigest: string;
  guardSummary: string;
  compileMs: number;
  prewarmMs: number;
  /** The last N pre-warm timings (ms), oldest first. */
  prewarmSamples: number[];
  compileStrategy: v1.CompileStrategy;
  tags: Record<string, string>;
  /** The encoded Leyline BlueprintDescriptor (the source of truth; tier/stage/name are copies for queries). */
  descriptor: Uint8Array;
  artifactMtimeS: number;
  /** Epoch ms of the save. */
  storedAtMs: number;
}

export interface CatalogFilter {
  blueprintId?: string;
  tier?: v1.BlueprintTier;
  stage?: number;
  slotKey?: string;
  contentHash?: string;
  /** Rows with this tag key (case-insensitive), and this value when given (exact). */
  tag?: { key: string; value?: string };
}

/** Filter fields that are plain equality tests, and their columns. */
const EQUALITY_COLUMNS: ReadonlyArray<[Exclude<keyof CatalogFilter, 'tag'>, string]> = [
  ['blueprintId', 'blueprint_id'],
  ['tier', 'tier'],
  ['stage', 'stage'],
  ['slotKey', 'slot_key'],
  ['contentHash', 'content_hash'],
];

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Ordered; append only. A migration runs once, in a transaction with its record in schema_migrations. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'kernel entries',
    sql: `
      CREATE TABLE kernel_entries (
        blueprint_id     TEXT    NOT NULL CHECK (blueprint_id <> ''),
        slot_key         TEXT    NOT NULL CHECK (slot_key <> ''),
        tier             INTEGER NOT NULL,
        stage            INTEGER NOT NULL,
        name             TEXT    NOT NULL,
        module_family    TEXT    NOT NULL,
        content_hash     TEXT    NOT NULL,
        artifact_path    TEXT    NOT NULL,
        checksum         TEXT    NOT NULL,
        guard_digest     TEXT    NOT NULL,
        guard_summary    TEXT    NOT NULL,
        compile_ms       REAL    NOT NULL,
        prewarm_ms       REAL    NOT NULL,
        prewarm_samples  TEXT    NOT NULL,  -- JSON array of ms
        compile_strategy INTEGER NOT NULL,
        tags             TEXT    NOT NULL,  -- JSON object of strings
        descriptor       BLOB    NOT NULL,  -- encoded BlueprintDescriptor
        artifact_mtime_s REAL    NOT NULL,
        stored_at        INTEGER NOT NULL,  -- epoch ms
        PRIMARY KEY (blueprint_id, slot_key)
      );
      CREATE INDEX kernel_entries_by_tier ON kernel_entries (tier, stage);
      CREATE INDEX kernel_entries_by_stage ON kernel_entries (stage);
      CREATE INDEX kernel_entries_by_slot ON kernel_entries (slot_key);
      -- artifacts are shared by content: reference counts before a file is deleted
      CREATE INDEX kernel_entries_by_content ON kernel_entries (content_hash);
    `,
  },
];

export const CATALOG_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class CatalogSchemaError extends Error {
  override readonly name = 'CatalogSchemaError';
}

/** A row whose stored descriptor cannot be decoded. */
export class CatalogRowError extends Error {
  override readonly name = 'CatalogRowError';
  constructor(
    readonly blueprintId: string,
    readonly slotKey: string,
    problem: string,
  ) {
    super(`catalog row ${blueprintId}@${slotKey}: ${problem}`);
  }
}

interface SqlRow {
  blueprint_id: string;
  slot_key: string;
  tier: number;
  stage: number;
  name: string;
  module_family: string;
  content_hash: string;
  artifact_path: string;
  checksum: string;
  guard_digest: string;
  guard_summary: string;
  compile_ms: number;
  prewarm_ms: number;
  prewarm_samples: string;
  compile_strategy: number;
  tags: string;
  descriptor: Buffer;
  artifact_mtime_s: number;
  stored_at: number;
}

const COLUMNS = [
  'blueprint_id',
  'slot_key',
  'tier',
  'stage',
  'name',
  'module_family',
  'content_hash',
  'artifact_path',
  'checksum',
  'guard_digest',
  'guard_summary',
  'compile_ms',
  'prewarm_ms',
  'prewarm_samples',
  'compile_strategy',
  'tags',
  'descriptor',
  'artifact_mtime_s',
  'stored_at',
] as const;

function fromSql(row: SqlRow): CatalogRow {
  return {
    blueprintId: row.blueprint_id,
    slotKey: row.slot_key,
    tier: row.tier as v1.BlueprintTier,
    stage: row.stage,
    name: row.name,
    moduleFamily: row.module_family,
    contentHash: row.content_hash,
    artifactPath: row.artifact_path,
    checksum: row.checksum,
    guardDigest: row.guard_digest,
    guardSummary: row.guard_summary,
    compileMs: row.compile_ms,
    prewarmMs: row.prewarm_ms,
    prewarmSamples: JSON.parse(row.prewarm_samples) as number[],
    compileStrategy: row.compile_strategy as v1.CompileStrategy,
    tags: JSON.parse(row.tags) as Record<string, string>,
    descriptor: new Uint8Array(row.descriptor),
    artifactMtimeS: row.artifact_mtime_s,
    storedAtMs: row.stored_at,
  };
}

function toSql(row: CatalogRow): SqlRow {
  return {
    blueprint_id: row.blueprintId,
    slot_key: row.slotKey,
    tier: row.tier,
    stage: row.stage,
    name: row.name,
    module_family: row.moduleFamily,
    content_hash: row.contentHash,
    artifact_path: row.artifactPath,
    checksum: row.checksum,
    guard_digest: row.guardDigest,
    guard_summary: row.guardSummary,
    compile_ms: row.compileMs,
    prewarm_ms: row.prewarmMs,
    prewarm_samples: JSON.stringify(row.prewarmSamples),
    compile_strategy: row.compileStrategy,
    tags: JSON.stringify(row.tags),
    descriptor: Buffer.from(row.descriptor),
    artifact_mtime_s: row.artifactMtimeS,
    stored_at: row.storedAtMs,
  };
}

export interface CatalogDbOptions {
  /** How long a statement waits for a lock before failing (ms). Default 250, Urza's slow-query threshold. */
  busyTimeoutMs?: number;
}

function schemaVersionOf(db: Database.Database): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

export class CatalogDb {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  /** Versions applied by this open (empty on a reopen of a current catalog). */
  readonly appliedMigrations: number[] = [];

  constructor(path: string, options: CatalogDbOptions = {}) {
    this.path = resolve(path);
    this.#db = openSqlite(this.path, {
      store: "Urza's catalog",
      timeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 250)),
      setup: (db) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        this.#migrate(db);
      },
    });
  }

  get schemaVersion(): number {
    return schemaVersionOf(this.#db);
  }

  /** The durability settings in force on this connection (journal mode, synchronous level: 2 = FULL). */
  durability(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.#db.pragma('synchronous', { simple: true })),
    };
  }

  /** Brings the schema up to date in one write transaction, so processes opening one root at once apply it once. */
  #migrate(db: Database.Database): void {
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at INTEGER NOT NULL)`);
      const current = schemaVersionOf(db);
      if (current > CATALOG_SCHEMA_VERSION) {
        throw new CatalogSchemaError(
          `${this.path} has schema version ${current}, newer than this build knows (${CATALOG_SCHEMA_VERSION}); refusing to touch it`,
        );
      }
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        db.exec(migration.sql);
        record.run(migration.version, migration.name, Date.now());
        this.appliedMigrations.push(migration.version);
      }
    }).immediate();
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in one transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
  transaction<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }

  get(blueprintId: string, slotKey: string): CatalogRow | null {
    const row = this.#statement('SELECT * FROM kernel_entries WHERE blueprint_id = ? AND slot_key = ?').get(
      blueprintId,
      slotKey,
    );
    return row ? fromSql(row as SqlRow) : null;
  }

  /** The most recently stored slot variant of a blueprint. */
  latest(blueprintId: string): CatalogRow | null {
    const row = this.#statement(
      'SELECT * FROM kernel_entries WHERE blueprint_id = ? ORDER BY stored_at DESC, slot_key LIMIT 1',
    ).get(blueprintId);
    return row ? fromSql(row as SqlRow) : null;
  }

  /** Insert or replace the row of (blueprint, slot) in one statement. */
  upsert(row: CatalogRow): void {
    const updates = COLUMNS.filter((c) => c !== 'blueprint_id' && c !== 'slot_key').map((c) => `${c} = excluded.${c}`);
    this.#statement(
      `INSERT INTO kernel_entries (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (blueprint_id, slot_key) DO UPDATE SET ${updates.join(', ')}`,
    ).run(toSql(row));
  }

  /** Deletes one slot variant, or every variant of the blueprint when `slotKey` is omitted. Returns rows removed. */
  delete(blueprintId: string, slotKey?: string): number {
    return slotKey === undefined
      ? this.#statement('DELETE FROM kernel_entries WHERE blueprint_id = ?').run(blueprintId).changes
      : this.#statement('DELETE FROM kernel_entries WHERE blueprint_id = ? AND slot_key = ?').run(blueprintId, slotKey)
          .changes;
  }

  /** How many rows use the artifact with this content hash. */
  references(contentHash: string): number {
    const row = this.#statement('SELECT COUNT(*) AS n FROM kernel_entries WHERE content_hash = ?').get(contentHash) as {
      n: number;
    };
    return row.n;
  }

  /** Artifact paths (relative) referenced by any row. */
  referencedPaths(): Set<string> {
    const rows = this.#statement('SELECT DISTINCT artifact_path AS p FROM kernel_entries').all() as Array<{
      p: string;
    }>;
    return new Set(rows.map((row) => row.p));
  }

  /** Rows matching every given criterion, ordered by blueprint id then slot key. */
  query(filter: CatalogFilter = {}): CatalogRow[] {
    const where: string[] = [];
    const params: Array<string | number | null> = [];
    for (const [field, column] of EQUALITY_COLUMNS) {
      const value = filter[field];
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    if (filter.tag !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM json_each(tags) WHERE lower(json_each.key) = lower(?) AND (? IS NULL OR json_each.value = ?))',
      );
      const value = filter.tag.value ?? null;
      params.push(filter.tag.key, value, value);
    }
    const sql = `SELECT * FROM kernel_entries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY blueprint_id, slot_key`;
    return (this.#statement(sql).all(...params) as SqlRow[]).map(fromSql);
  }

  count(): number {
    return (this.#statement('SELECT COUNT(*) AS n FROM kernel_entries').get() as { n: number }).n;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  get isOpen(): boolean {
    return this.#db.open;
  }
}

// ---- rows ↔ Leyline ----------------------------------------------------------------------------------------------

/** The descriptor stored in a row. Throws CatalogRowError when its bytes do not decode. */
export function rowDescriptor(row: CatalogRow): v1.BlueprintDescriptor {
  const decoded = decodeLeyline(leyline.BlueprintDescriptor, row.descriptor);
  if (!decoded.ok) throw new CatalogRowError(row.blueprintId, row.slotKey, decoded.error.message);
  return decoded.message;
}

/** The Leyline record of a row; `artifact_ref` is the artifact's absolute path under `root`. */
export function toCatalogEntry(row: CatalogRow, root: string): v1.KernelCatalogEntry {
  return leyline.KernelCatalogEntry.create({
    descriptor: rowDescriptor(row),
    artifactRef: resolve(root, row.artifactPath),
    checksum: row.checksum,
    guardDigest: row.guardDigest,
    compileMs: row.compileMs,
    prewarmMs: row.prewarmMs,
    prewarmSamplesMs: [...row.prewarmSamples],
    artifactMtimeS: row.artifactMtimeS,
    compileStrategy: leyline.CompileStrategy[row.compileStrategy] ?? String(row.compileStrategy),
    tags: { ...row.tags },
    storedAt: toTimestamp(row.storedAtMs),
    slot: slotShapeOf(row.slotKey),
    moduleFamily: row.moduleFamily,
    guardSummary: row.guardSummary,
  });
}

/**
 * The row for a Leyline record (e.g. one exported from another library). The artifact is named by its checksum,
 * as the artifact store names every file; `artifact_ref` is not trusted as a path.
 */
export function fromCatalogEntry(entry: v1.KernelCatalogEntry, artifactPathOf: (hash: string) => string): CatalogRow {
  const descriptor =
    entry.descriptor instanceof leyline.BlueprintDescriptor
      ? entry.descriptor
      : leyline.BlueprintDescriptor.create(entry.descriptor ?? {});
  const strategy = (leyline.CompileStrategy as unknown as Record<string, number>)[entry.compileStrategy];
  return {
    blueprintId: descriptor.blueprintId,
    slotKey: (entry.slot?.dims ?? []).join('x'),
    tier: descriptor.tier,
    stage: descriptor.stage,
    name: descriptor.name,
    moduleFamily: entry.moduleFamily,
    contentHash: entry.checksum,
    artifactPath: artifactPathOf(entry.checksum),
    checksum: entry.checksum,
    guardDigest: entry.guardDigest,
    guardSummary: entry.guardSummary,
    compileMs: entry.compileMs,
    prewarmMs: entry.prewarmMs,
    prewarmSamples: [...entry.prewarmSamplesMs],
    compileStrategy: (strategy ?? leyline.CompileStrategy.COMPILE_STRATEGY_UNSPECIFIED) as v1.CompileStrategy,
    tags: { ...entry.tags },
    descriptor: new Uint8Array(encodeLeyline(descriptor)),
    artifactMtimeS: entry.artifactMtimeS,
    storedAtMs: entry.storedAt ? Math.round(fromTimestamp(entry.storedAt)) : 0,
  };
}
