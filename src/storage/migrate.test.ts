import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../test/harness/storage.js';
import { migrateToLatest, SchemaTooNewError, schemaStatus } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';

describe.each(storageTargets())('migrations on $name', (target) => {
  let loc: TestLocation;
  beforeEach(async () => {
    loc = await target.fresh();
  });
  afterEach(() => loc.destroy());

  it('applies every migration once, and a second run applies nothing', async () => {
    const storage = await loc.open({ migrate: false });
    expect((await schemaStatus(storage)).pending).toEqual(Object.keys(MIGRATIONS));
    expect(await migrateToLatest(storage)).toEqual(Object.keys(MIGRATIONS));
    expect(await migrateToLatest(storage)).toEqual([]);
    const status = await schemaStatus(storage);
    expect(status).toEqual({ applied: Object.keys(MIGRATIONS), pending: [], unknown: [] });
  });

  it('several processes migrating at once end with one schema', async () => {
    const a = await loc.open({ migrate: false });
    const b = await loc.open({ migrate: false });
    const results = await Promise.allSettled([migrateToLatest(a), migrateToLatest(b)]);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect((await schemaStatus(a)).pending).toEqual([]);
  });

  it('reads its own schema only: a migrated schema beside it does not count', async () => {
    const neighbour = await target.fresh();
    await neighbour.open(); // migrated, in another schema (PostgreSQL) or file (SQLite) of the same server
    const storage = await loc.open({ migrate: false });
    expect((await schemaStatus(storage)).applied).toEqual([]);
    expect(await migrateToLatest(storage)).toEqual(Object.keys(MIGRATIONS));
    await neighbour.destroy();
  });

  it('refuses a database migrated by newer code', async () => {
    const storage = await loc.open();
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(
      storage.db,
    );
    const error = await migrateToLatest(storage).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as Error).message).toContain('9999_from_the_future');
    expect((await schemaStatus(storage)).unknown).toEqual(['9999_from_the_future']);
  });

  it('the database enforces foreign keys', async () => {
    const storage = await loc.open();
    await expect(
      storage.db
        .insertInto('request_nonces')
        .values({ channel_id: 'ch_missing', nonce: 'n'.repeat(16), expires_at: 1 })
        .execute(),
    ).rejects.toThrow();
  });
});

describe('SQLite settings', () => {
  it('uses WAL checkpointed every 10,000 pages, full fsync and foreign keys', async () => {
    const [sqlite] = storageTargets();
    const loc = await sqlite?.fresh();
    const storage = await loc?.open();
    if (!loc || !storage) throw new Error('no sqlite target');
    const pragma = async (name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(storage.db)).rows[0] as object)[0];
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('synchronous')).toBe(2); // FULL
    expect(await pragma('wal_autocheckpoint')).toBe(10_000);
    expect(await pragma('foreign_keys')).toBe(1);
    await loc.destroy();
  });
});
