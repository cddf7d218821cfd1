import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountId } from './accounts.js';
import { escrowHold, type OrderMoney, payoutHold, payoutPaid, redemption } from './postings.js';
import type { TransferInput } from './transfer.js';

const base: OrderMoney = {
  orderId: 'ord_x',
  channelId: 'ch_a',
  sellerId: 's1',
  issuer: 'china_mobile',
  face: 10_000,
  currency: 'CNY',
  seller: 9_550,
  commission: 90,
  payout: 9_550,
  payoutCurrency: 'CNY',
};

/** Net posted movement per account (credits − debits) of singles and posts. */
function net(ts: TransferInput[], heldAmounts: Record<string, number> = {}) {
  const out = new Map<string, number>();
  const add = (id: string, v: number) => out.set(id, (out.get(id) ?? 0) + v);
  for (const t of ts) {
    if (t.kind !== 'single' && t.kind !== 'post') continue;
    const amount = t.amount ?? heldAmounts[t.pending_id ?? ''] ?? 0;
    const dr = t.debit_account_id ?? `held:${t.pending_id}:dr`;
    const cr = t.credit_account_id ?? `held:${t.pending_id}:cr`;
    add(dr, -amount);
    add(cr, amount);
  }
  return out;
}

const acc = (kind: string, currency: string, owner?: string) =>
  accountId({ kind: kind as never, currency, ...(owner ? { owner } : {}) });

describe('postings of the flow', () => {
  it('a redeemed card: issuer receivable +F, seller payable +P, commission +C, margin F−P−C', () => {
    const n = net(redemption(base).transfers);
    expect(n.get(acc('issuer_receivable', 'CNY', 'china_mobile'))).toBe(-10_000);
    expect(n.get(acc('seller_payable', 'CNY', 'ch_a/s1'))).toBe(9_550);
    expect(n.get(acc('channel_commission', 'CNY', 'ch_a'))).toBe(90);
    expect(n.get(acc('margin', 'CNY'))).toBe(360);
  });

  it('for every price the parts add up to the face value, and nothing is booked at zero', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (face, rate, comm) => {
          const seller = Math.floor((face * rate) / 10_000);
          const commission = Math.floor(((face - seller) * comm) / 10_000);
          const b = redemption({ ...base, face, seller, commission, payout: seller });
          const total = b.transfers.reduce((a, t) => a + (t.amount ?? 0), 0);
          expect(total).toBe(face);
          expect(b.transfers.every((t) => (t.amount ?? 0) > 0)).toBe(true);
        },
      ),
    );
  });

  it('cross-currency: P leaves CNY into the FX account, X enters USDT from it; each currency balances', () => {
    const fx = { ...base, payout: 13_169_679, payoutCurrency: 'USDT' };
    const ts = redemption(fx).transfers;
    const n = net(ts);
    expect(n.get(acc('fx_difference', 'CNY'))).toBe(9_550);
    expect(n.get(acc('fx_difference', 'USDT'))).toBe(-13_169_679);
    expect(n.get(acc('seller_payable', 'USDT', 'ch_a/s1'))).toBe(13_169_679);
    // The CNY side books F in full: P to FX, C and the margin.
    expect(n.get(acc('issuer_receivable', 'CNY', 'china_mobile'))).toBe(-10_000);
  });

  it('escrow: the hold is posted for the actual amount when lower; the receivable repays the funding', () => {
    const hold = escrowHold(base).transfers[0] as TransferInput;
    expect(hold).toMatchObject({ kind: 'pending', amount: 9_550 });
    const lower = { ...base, face: 5_000, seller: 4_775, commission: 45, payout: 4_775 };
    const ts = redemption(lower, 9_550).transfers;
    expect(ts.find((t) => t.id === 'ord_x:hold:post')).toMatchObject({ kind: 'post', amount: 4_775 });
    expect(ts.some((t) => t.id === 'ord_x:hold:top_up')).toBe(false);
    const seller = ts.find((t) => t.id === 'ord_x:seller');
    expect(seller?.credit_account_id).toBe(acc('platform_funding', 'CNY'));
    // Higher than held: the difference is a top-up.
    const higher = redemption({ ...base, payout: 9_700, seller: 9_700, commission: 0 }, 9_550).transfers;
    expect(higher.find((t) => t.id === 'ord_x:hold:top_up')).toMatchObject({ amount: 150 });
  });

  it('a payout: amount and fee held against the seller, then posted and passed from clearing to provider cash', () => {
    const p = {
      payoutId: 'po_x',
      channelId: 'ch_a',
      sellerId: 's1',
      provider: 'alipay',
      currency: 'CNY',
      amount: 9_450,
      fee: 100,
    };
    expect(payoutHold(p).transfers.map((t) => [t.id, t.kind, t.amount])).toEqual([
      ['po_x:amount', 'pending', 9_450],
      ['po_x:fee', 'pending', 100],
    ]);
    expect(payoutPaid(p).transfers.map((t) => t.id)).toEqual([
      'po_x:amount:post',
      'po_x:fee:post',
      'po_x:cash',
    ]);
  });
});
