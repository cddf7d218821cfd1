import { type MigrationProvider, Migrator, sql } from 'kysely';
import type { Storage } from './database.js';
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

/**
 * Names of applied migrations, read from this connection's own schema. (Kysely's introspection lists
 * tables of every PostgreSQL schema, so a migration table elsewhere in the database would mislead it.)
 */
async function appliedNames({ db, schema }: Pick<Storage, 'db' | 'schema'>): Promise<string[]> {
  const table = schema ? `${schema}.${MIGRATION_TABLE}` : MIGRATION_TABLE;
  try {
    const rows = await sql<{ name: string }>`select name from ${sql.table(table)} order by name`.execute(db);
    return rows.rows.map((r) => r.name);
  } catch (err) {
    if (/does not exist|no such table/i.test((err as Error).message)) return [];
    throw err;
  }
}

export async function schemaStatus(storage: Pick<Storage, 'db' | 'schema'>): Promise<SchemaStatus> {
  const applied = await appliedNames(storage);
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

export async function migrateToLatest(storage: Pick<Storage, 'db' | 'schema'>): Promise<string[]> {
  const { db, schema } = storage;
  for (let attempt = 1; ; attempt++) {
    const before = await schemaStatus(storage);
    if (before.unknown.length > 0) throw new SchemaTooNewError(before.unknown);
    if (before.pending.length === 0) return [];
    // The schema is named explicitly: Kysely's own existence checks look at every schema otherwise.
    const { error, results } = await new Migrator({
      db,
      provider,
      ...(schema ? { migrationTableSchema: schema } : {}),
    })
      .migrateToLatest()
      .catch((thrown: unknown) => ({ error: thrown, results: undefined }));
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely has no cross-process lock on SQLite: a process that raced another one fails inside its
    // rolled-back transaction (busy, or "table exists"). Look again once the other one is done.
    if (attempt >= MIGRATION_TRIES) throw error instanceof Error ? error : new Error(String(error));
    await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
  }
}
