import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage, type Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';

/**
 * The databases every storage-touching suite runs against: SQLite always, PostgreSQL too when
 * RECARD_TEST_DATABASE_URL is set. Each opened store is fresh: its own file or its own schema.
 */
export interface StorageTarget {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database location: `url` and `schema` as the config would carry them. */
  fresh(): Promise<TestLocation>;
}

export interface TestLocation {
  url: string;
  schema: string;
  /** Opens a connection (pool) to the location; call several times for several "processes". */
  open(options?: { migrate?: boolean }): Promise<Storage>;
  /** Drops the schema / removes the file. */
  destroy(): Promise<void>;
}

const sqliteTarget: StorageTarget = {
  name: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'recard-test-'));
    const url = `sqlite:${join(dir, 'recard.db')}`;
    return location(url, 'public', async () => rmSync(dir, { recursive: true, force: true }));
  },
};

export function postgresTarget(baseUrl: string): StorageTarget {
  return {
    name: 'postgres',
    async fresh() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      return location(baseUrl, schema, async () => {
        const client = new pg.Client({ connectionString: baseUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      });
    },
  };
}

function location(url: string, schema: string, drop: () => Promise<void>): TestLocation {
  const opened: Storage[] = [];
  return {
    url,
    schema,
    async open(options = {}) {
      const storage = await openStorage({ url, schema, poolSize: 5 });
      opened.push(storage);
      if (options.migrate !== false) await migrateToLatest(storage);
      return storage;
    },
    async destroy() {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      await drop();
    },
  };
}

export function storageTargets(): StorageTarget[] {
  const pgUrl = process.env.RECARD_TEST_DATABASE_URL;
  return pgUrl ? [sqliteTarget, postgresTarget(pgUrl)] : [sqliteTarget];
}
