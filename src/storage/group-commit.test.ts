import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../test/harness/storage.js';
import type { Storage } from './database.js';
import { createCommitter } from './group-commit.js';

describe.each(storageTargets())('committer on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    await sql`create table items (id integer primary key, label text not null)`.execute(storage.db);
  });
  afterEach(() => loc.destroy());

  const count = async () =>
    Number((await sql<{ n: number }>`select count(*) as n from items`.execute(storage.db)).rows[0]?.n);

  it('commits every concurrent unit, each resolved with its own result after its commit', async () => {
    const committer = createCommitter(storage.db, storage.dialect);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        committer.run(async (trx) => {
          await sql`insert into items (id, label) values (${i}, ${`item ${i}`})`.execute(trx);
          return i * 2;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 300 }, (_, i) => i * 2));
    expect(await count()).toBe(300);
    const { units, commits, retried } = committer.stats();
    expect(units).toBe(300);
    expect(retried).toBe(0); // nothing failed: every batch went through in one plain transaction
    if (storage.dialect === 'sqlite') expect(commits).toBeLessThan(30);
    else expect(commits).toBe(300);
  });

  it('a unit that calls the committer again is refused at once instead of hanging every write', async () => {
    const committer = createCommitter(storage.db, storage.dialect);
    await expect(
      committer.run(async (trx) => {
        await sql`insert into items (id, label) values (1, 'outer')`.execute(trx);
        await committer.run((inner) => sql`insert into items (id, label) values (2, 'inner')`.execute(inner));
      }),
    ).rejects.toThrow(/inside a unit of work/);
    expect(await count()).toBe(0); // the outer unit failed with it: nothing half-written
    // And the committer still works afterwards.
    await committer.run((trx) => sql`insert into items (id, label) values (3, 'after')`.execute(trx));
    expect(await count()).toBe(1);
  });

  it('a failing unit is rolled back alone and rejected; the rest of its batch commits', async () => {
    const committer = createCommitter(storage.db, storage.dialect);
    const outcomes = await Promise.allSettled(
      [1, 2, 3, 4].map((i) =>
        committer.run(async (trx) => {
          await sql`insert into items (id, label) values (${i * 10}, 'a')`.execute(trx);
          if (i === 2) {
            await sql`insert into items (id, label) values (${i * 10 + 1}, 'partial')`.execute(trx);
            throw new Error('unit 2 refuses');
          }
          if (i === 3) await sql`insert into items (id, label) values (10, 'duplicate key')`.execute(trx);
          return i;
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const ids = (await sql<{ id: number }>`select id from items order by id`.execute(storage.db)).rows.map(
      (r) => r.id,
    );
    expect(ids).toEqual([10, 40]);
    // On SQLite the four went in one batch, tried all-or-nothing first, then again unit by unit.
    if (storage.dialect === 'sqlite') expect(committer.stats().retried).toBe(1);
  });

  it('a unit that starts while a batch commits goes into the next batch', async () => {
    const committer = createCommitter(storage.db, storage.dialect, { maxBatch: 2 });
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        committer.run((trx) => sql`insert into items (id, label) values (${i}, 'x')`.execute(trx)),
      ),
    );
    expect(await count()).toBe(5);
    if (storage.dialect === 'sqlite') expect(committer.stats().commits).toBe(3);
  });

  it('a bulk unit commits alone, after the units waiting with it, and is not starved by steady traffic', async () => {
    const committer = createCommitter(storage.db, storage.dialect);
    const order: string[] = [];
    let id = 0;
    const unit = (label: string) => async (trx: Parameters<Parameters<typeof committer.run>[0]>[0]) => {
      order.push(label);
      await sql`insert into items (id, label) values (${++id}, ${label})`.execute(trx);
    };
    // Queued in one turn: the bulk unit first, then three small ones.
    await Promise.all([
      committer.runBulk(unit('bulk')),
      committer.run(unit('a')),
      committer.run(unit('b')),
      committer.run(unit('c')),
    ]);
    expect(await count()).toBe(4);
    if (storage.dialect === 'sqlite') {
      // The small ones went first, in one batch; the bulk unit in a transaction of its own.
      expect(order).toEqual(['a', 'b', 'c', 'bulk']);
      expect(committer.stats()).toMatchObject({ units: 4, commits: 2 });

      // Steady traffic: a small unit queued at every turn. The bulk unit still runs after one batch.
      order.length = 0;
      let stop = false;
      const sent: Promise<void>[] = [];
      const traffic = (async () => {
        for (let i = 0; !stop && i < 200; i++) {
          sent.push(committer.run(unit(`t${i}`)));
          await new Promise((r) => setImmediate(r));
        }
      })();
      await new Promise((r) => setImmediate(r));
      await committer.runBulk(unit('bulk2'));
      stop = true;
      await traffic;
      await Promise.all(sent); // every unit committed before the database closes
      expect(order.indexOf('bulk2')).toBeLessThan(10);
    }
  });
});
