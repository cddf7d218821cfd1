import { type MigrationProvider, Migrator, sql } from 'kysely';
import type { Db } from './database.js';
import { MIGRATIONS } from './migrations/index.js';

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export class SchemaTooNewError extends Error {
  constructor(readonly unknown: string[]) {
    super(
      `the database has migrations this version of Recard does not know (${unknown.join(', ')}): ` +
        'it was migrated by newer code. Run that version, or restore a backup taken before the upgrade.',
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface SchemaStatus {
  applied: string[];
  pending: string[];
  /** Applied in the database but unknown to this code: the database is newer than the code. */
  unknown: string[];
}

const MIGRATION_TABLE = 'kysely_migration';

async function appliedNames(db: Db): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return [];
  const rows = await sql<{
    name: string;
  }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
  return rows.rows.map((r) => r.name);
}

export async function schemaStatus(db: Db): Promise<SchemaStatus> {
  const applied = await appliedNames(db);
  const known = Object.keys(MIGRATIONS).sort();
  return {
    applied,
    pending: known.filter((n) => !applied.includes(n)),
    unknown: applied.filter((n) => !(n in MIGRATIONS)),
  };
}

/**
 * Brings the schema up to date. Refuses a database that is newer than the code. On PostgreSQL
 * Kysely's migrator takes a lock-table row lock, so several processes starting at once are safe.
 */
const MIGRATION_TRIES = 5;

export async function migrateToLatest(db: Db): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const before = await schemaStatus(db);
    if (before.unknown.length > 0) throw new SchemaTooNewError(before.unknown);
    if (before.pending.length === 0) return [];
    const { error, results } = await new Migrator({ db, provider })
      .migrateToLatest()
      .catch((thrown: unknown) => ({ error: thrown, results: undefined }));
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely has no cross-process lock on SQLite: a process that raced another one fails inside its
    // rolled-back transaction (busy, or "table exists"). Look again once the other one is done.
    if (attempt >= MIGRATION_TRIES) throw error instanceof Error ? error : new Error(String(error));
    await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
  }
}
