import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../test/harness/storage.js';
import type { Storage } from './database.js';
import { migrateToLatest } from './migrate.js';
import { prepared, preparedInsert } from './prepared.js';

describe.each(storageTargets())('prepared statements on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    await migrateToLatest(storage);
  });
  afterEach(() => loc.destroy());

  const insertGroup = preparedInsert('channel_groups');
  const byChannel = prepared<{ channel: string; after: number }>((db, p) =>
    db
      .selectFrom('channel_groups')
      .select(['id', 'created_at'])
      .where('name', '=', p.channel)
      .where('created_at', '>', p.after)
      .where('id', '!=', 'never-this') // a constant stays bound as written
      .orderBy('id'),
  );

  it('binds each run its own values, in a transaction too, and reads back what Kysely reads', async () => {
    expect(await insertGroup(storage.db, { id: 'n1', name: 'a', created_at: 10, updated_at: 10 })).toBe(1);
    await storage.db.transaction().execute(async (trx) => {
      await insertGroup(trx, { id: 'n2', name: 'a', created_at: 20, updated_at: 20 });
      await insertGroup(trx, { id: 'n3', name: 'b', created_at: 30, updated_at: 30 });
    });
    const rows = (await byChannel.run(storage.db, { channel: 'a', after: 15 })).rows;
    expect(rows).toEqual([{ id: 'n2', created_at: 20 }]);
    expect((await byChannel.run(storage.db, { channel: 'b', after: 0 })).rows).toEqual([
      { id: 'n3', created_at: 30 },
    ]);
    const viaKysely = await storage.db
      .selectFrom('channel_groups')
      .select(['id', 'created_at'])
      .where('name', '=', 'a')
      .orderBy('id')
      .execute();
    expect((await byChannel.run(storage.db, { channel: 'a', after: 0 })).rows).toEqual(viaKysely);
  });

  it('counts the rows a write changed (0 when a conflict clause declined it)', async () => {
    const touch = prepared<{ channel: string; nonce: string; expires: number }>((db, p) =>
      db
        .insertInto('channel_groups')
        .values({ id: p.nonce, name: p.channel, created_at: p.expires, updated_at: p.expires })
        .onConflict((oc) => oc.column('id').doNothing()),
    );
    expect((await touch.run(storage.db, { channel: 'a', nonce: 'x', expires: 1 })).changed).toBe(1);
    expect((await touch.run(storage.db, { channel: 'a', nonce: 'x', expires: 2 })).changed).toBe(0);
    const row = await storage.db.selectFrom('channel_groups').selectAll().executeTakeFirst();
    expect(row).toEqual({ id: 'x', name: 'a', created_at: 1, updated_at: 1 });
  });

  it('refuses a statement that binds a value computed from a parameter, or spreads them, before running anything', async () => {
    const derived = prepared<{ channel: string; at: number }>((db, p) =>
      db
        .insertInto('channel_groups')
        .values({ id: `${p.channel}-suffix`, name: p.channel, created_at: p.at, updated_at: p.at }),
    );
    await expect(derived.run(storage.db, { channel: 'a', at: 1 })).rejects.toThrow(
      /binds a value derived from a parameter/,
    );
    const spread = prepared<{ id: string; name: string; at: number }>((db, p) =>
      db.insertInto('channel_groups').values({ ...p, created_at: p.at, updated_at: p.at }),
    );
    await expect(spread.run(storage.db, { id: 'g', name: 'n', at: 1 })).rejects.toThrow(/one by one/);
    const n = await sql<{ n: number }>`select count(*) as n from channel_groups`.execute(storage.db);
    expect(Number(n.rows[0]?.n)).toBe(0);
  });
});
