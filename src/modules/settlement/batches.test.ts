import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import type { Storage } from '../../storage/database.js';
import { DEFAULT_SETTLEMENT, type SettlementSettings } from '../channels/index.js';
import { payDue, type SweepDeps } from './batches.js';

const NOW = Date.UTC(2026, 10, 20, 6);
const policy = (cycle: SettlementSettings['cycle']): SettlementSettings => ({ ...DEFAULT_SETTLEMENT, cycle });

/**
 * The sweep's cost follows what is due, not who is owed: a seller owed on a T+1 channel with no
 * batch due is not visited (no transaction, no lock), however many there are. A visit is seen as
 * the seller's lock, the first thing a payout does; the payout then stops for want of a destination.
 */
describe.each(storageTargets())('payDue on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  beforeAll(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    const item = (order: string, channel: string, seller: string, batch: string | null) => ({
      order_id: order,
      channel_id: channel,
      seller_id: seller,
      amount: 1_000,
      currency: 'CNY',
      settled_at: NOW - 3_600_000,
      batch_id: batch,
      payout_id: null,
      paid_at: null,
    });
    const batch = (id: string, status: string, dueAt: number) => ({
      id,
      channel_id: 'ch_t1',
      cycle: 'T1',
      business_date: id,
      status,
      due_at: dueAt,
      order_count: 1,
      amount: 1_000,
      currency: 'CNY',
      approved_by: null,
      approved_at: null,
      created_at: NOW,
      updated_at: NOW,
    });
    await storage.db
      .insertInto('settlement_batches')
      .values([batch('2026-11-18', 'approved', NOW - 1), batch('2026-11-19', 'approved', NOW + 60_000)])
      .execute();
    await storage.db
      .insertInto('settlement_items')
      .values([
        // Owed on T+1, in no batch yet, or in a batch not due yet: nothing to pay.
        ...Array.from({ length: 30 }, (_, i) => item(`o-waiting-${i}`, 'ch_t1', `waiting-${i}`, null)),
        item('o-later', 'ch_t1', 'later', '2026-11-19'),
        // Due: an approved batch past its due time, and what a T+0 channel credited.
        item('o-due', 'ch_t1', 'due', '2026-11-18'),
        item('o-now', 'ch_t0', 'now', null),
      ])
      .execute();
  });
  afterAll(async () => {
    await storage.close();
    await loc.destroy();
  });

  it('visits only the sellers with something due', async () => {
    const visited: string[] = [];
    const deps = {
      db: storage.db,
      now: () => NOW,
      policyOf: async (channelId: string) => policy(channelId === 'ch_t0' ? 'T0' : 'T1'),
      sellers: {
        lock: async (_trx: unknown, channelId: string, sellerId: string) => {
          visited.push(`${channelId}/${sellerId}`);
        },
        payoutTarget: async () => null,
      },
    } as unknown as SweepDeps;
    expect(await payDue(deps)).toBe(0);
    expect(visited.sort()).toEqual(['ch_t0/now', 'ch_t1/due']);
  });
});
