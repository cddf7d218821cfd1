import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect } from 'kysely';
import pg from 'pg';
import { isPostgresUrl, sqlitePath } from '../config/load.js';
import type { Database } from './schema.js';
import { type SqliteDatabase as RawSqlite, SQLite, type SqliteStatement } from './sqlite-driver.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;

export interface Storage {
  db: Db;
  dialect: Dialect;
  /** The PostgreSQL schema in use; undefined on SQLite. */
  schema?: string;
  /** Where the data lives, without credentials, for logs. */
  describe: string;
  close(): Promise<void>;
}

export interface StorageOptions {
  url: string;
  schema?: string;
  poolSize?: number;
  /** A PostgreSQL connection was cut (the server restarted, a proxy dropped it). */
  onConnectionLost?: (err: Error) => void;
}

const PG_INT8 = 20;

/** bigint columns hold ms timestamps and minor-unit amounts: numbers, but never silently rounded. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} exceeds the safe integer range`);
  return n;
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every statement anew (a profile showed ~12% of request CPU in
 * `prepare`). Queries are built from a fixed set of shapes, so prepared statements are kept by SQL
 * text (least recently used dropped); one still iterating (`busy`) is not shared.
 */
function withStatementCache(database: RawSqlite): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const stmt = database.prepare(sql);
      cache.set(sql, stmt);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      return stmt;
    },
  };
}

/**
 * The database and its -wal/-shm hold card data: owner-only, whatever the umask or whoever made the
 * folder. SQLite gives the -wal and -shm files the mode of the database file, so the file is made
 * 0600 before SQLite opens it; files left by an earlier version are tightened too.
 */
function ownerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`])
    if (existsSync(file)) chmodSync(file, 0o600);
}

function openSqlite(url: string): Storage {
  const path = sqlitePath(url);
  if (path !== ':memory:' && path !== '') ownerOnly(path);
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  // A checkpoint every ~40 MB of WAL, not SQLite's 4 MB: a batch slice's commit writes a few MB, so
  // at the default nearly every slice also copied the WAL back into the file and synced it (the
  // 100,000-line bench: 36.3 s → 32.4 s, docs/benchmarks.md). Pages written again before the next
  // checkpoint are copied once.
  database.pragma('wal_autocheckpoint = 10000');
  database.pragma('foreign_keys = ON');
  // Several processes (a worker beside the server) may share the file: wait for the write lock.
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return { db, dialect: 'sqlite', describe: `sqlite:${path}`, close: () => db.destroy() };
}

async function openPostgres(
  url: string,
  schema: string,
  poolSize: number,
  onConnectionLost: (err: Error) => void,
): Promise<Storage> {
  // Make sure the schema exists before the pool pins search_path to it.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: `-c search_path="${schema}"`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A client whose connection is cut (the server restarted) emits 'error', in use or idle; unheard,
  // Node ends the process. Its query (if any) fails on its own, and the pool drops it and opens a
  // new connection for the next one. pg-pool listens to idle clients only, and passes their errors
  // on to the pool: heard here on every client, so the pool's copy is dropped.
  pool.on('connect', (client) => client.on('error', onConnectionLost));
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = '';
  return {
    db,
    dialect: 'postgres',
    schema,
    describe: `${safe.toString()} (schema ${schema})`,
    close: () => db.destroy(),
  };
}

export async function openStorage(options: StorageOptions): Promise<Storage> {
  if (isPostgresUrl(options.url))
    return openPostgres(
      options.url,
      options.schema ?? 'public',
      options.poolSize ?? 10,
      options.onConnectionLost ?? (() => undefined),
    );
  return openSqlite(options.url);
}
