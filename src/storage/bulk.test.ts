import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../test/harness/storage.js';
import { insertRows } from './bulk.js';
import type { Storage } from './database.js';
import { migrateToLatest } from './migrate.js';

describe.each(storageTargets())('multi-row inserts on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    await migrateToLatest(storage);
  });
  afterEach(() => loc.destroy());

  it('writes every row with its own cells, across statements of every size, in the caller’s transaction', async () => {
    // 64 + 16 + 4 + 1: every statement size once; every cell differs, so a cell bound to the wrong
    // row or column shows.
    const rows = Array.from({ length: 85 }, (_, i) => ({
      id: `g${String(i).padStart(3, '0')}`,
      name: `name ${i}`,
      created_at: 1000 + i,
      updated_at: 5000 + i * 7,
    }));
    await storage.db.transaction().execute((trx) => insertRows(trx, 'channel_groups', rows));
    const back = await storage.db
      .selectFrom('channel_groups')
      .select(['id', 'name', 'created_at', 'updated_at'])
      .orderBy('id')
      .execute();
    expect(back).toEqual(rows);
  });

  it('a rolled-back transaction keeps none of them; no rows writes nothing', async () => {
    await insertRows(storage.db, 'channel_groups', []);
    await expect(
      storage.db.transaction().execute(async (trx) => {
        await insertRows(trx, 'channel_groups', [{ id: 'x1', name: 'x', created_at: 1, updated_at: 1 }]);
        throw new Error('later write failed');
      }),
    ).rejects.toThrow('later write failed');
    expect(await storage.db.selectFrom('channel_groups').select('id').execute()).toEqual([]);
  });
});
