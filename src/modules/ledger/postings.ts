import { type AccountKey, accountId, sellerOwner } from './accounts.js';
import type { TransferInput } from './transfer.js';

/**
 * What the flow books, pure (docs/ledger.md#postings-of-the-flow). Transfer ids are made from the
 * order or payout id, so a repeated event or a retried job finds "exists" and books nothing twice.
 */
export const CODES = {
  seller: 101,
  commission: 102,
  margin: 103,
  fx_out: 104,
  escrow_hold: 110,
  escrow_release: 111,
  escrow_top_up: 112,
  escrow_refund: 113,
  payout: 201,
  payout_fee: 202,
  payout_cash: 203,
  manual: 900,
} as const;

/** What postings need to know of an order. */
export interface OrderMoney {
  orderId: string;
  channelId: string;
  sellerId: string;
  issuer: string;
  /** Face value redeemed (F) and the price (P seller, C commission) in the card currency. */
  face: number;
  currency: string;
  seller: number;
  commission: number;
  /** What the seller is paid (X), in the payout currency (the card currency without FX). */
  payout: number;
  payoutCurrency: string;
}

/** What an order, as its events and GET /v1/orders show it, books; undefined without a price. */
export function orderMoneyOf(
  order: {
    id: string;
    seller: { id: string };
    issuer: string | null;
    card_type: string;
    price: {
      face_value: number;
      currency: string;
      seller_amount: number;
      commission_amount: number;
      payout_amount: number;
      payout_currency: string;
    } | null;
  },
  channelId: string,
): OrderMoney | undefined {
  const p = order.price;
  if (!p) return undefined;
  return {
    orderId: order.id,
    channelId,
    sellerId: order.seller.id,
    issuer: order.issuer ?? order.card_type,
    face: p.face_value,
    currency: p.currency,
    seller: p.seller_amount,
    commission: p.commission_amount,
    payout: p.payout_amount,
    payoutCurrency: p.payout_currency,
  };
}

export interface Booking {
  transfers: TransferInput[];
  open: AccountKey[];
}

const ref = (orderId: string) => ({ ref_type: 'order', ref_id: orderId });

function keys(o: Pick<OrderMoney, 'channelId' | 'sellerId' | 'issuer' | 'currency' | 'payoutCurrency'>) {
  return {
    receivable: { kind: 'issuer_receivable', currency: o.currency, owner: o.issuer } as AccountKey,
    payable: {
      kind: 'seller_payable',
      currency: o.payoutCurrency,
      owner: sellerOwner(o.channelId, o.sellerId),
    } as AccountKey,
    commission: { kind: 'channel_commission', currency: o.currency, owner: o.channelId } as AccountKey,
    margin: { kind: 'margin', currency: o.currency } as AccountKey,
    funding: { kind: 'platform_funding', currency: o.payoutCurrency } as AccountKey,
    fxFrom: { kind: 'fx_difference', currency: o.currency } as AccountKey,
    fxTo: { kind: 'fx_difference', currency: o.payoutCurrency } as AccountKey,
  };
}

function single(
  id: string,
  dr: AccountKey,
  cr: AccountKey,
  amount: number,
  code: number,
  orderId: string,
): TransferInput[] {
  if (amount === 0) return [];
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`posting ${id}: amount ${amount}`);
  return [
    {
      id,
      kind: 'single',
      debit_account_id: accountId(dr),
      credit_account_id: accountId(cr),
      amount,
      code,
      ...ref(orderId),
    },
  ];
}

/** Escrow: the seller's amount held from intake until the issuer answers. */
export function escrowHold(o: OrderMoney): Booking {
  const k = keys(o);
  return {
    open: [k.funding, k.payable],
    transfers: [
      {
        id: `${o.orderId}:hold`,
        kind: 'pending',
        debit_account_id: accountId(k.funding),
        credit_account_id: accountId(k.payable),
        amount: o.payout,
        code: CODES.escrow_hold,
        ...ref(o.orderId),
      },
    ],
  };
}

/** An escrow order that ends without a card bought gives the hold back. */
export function escrowRefund(orderId: string): TransferInput {
  return {
    id: `${orderId}:hold:void`,
    kind: 'void',
    pending_id: `${orderId}:hold`,
    code: CODES.escrow_refund,
    ...ref(orderId),
  };
}

/**
 * A redeemed card: issuer receivable +F, seller payable +P (or X after FX), channel commission +C,
 * margin F−P−C. A cross-currency order leaves the card currency through the FX difference account
 * and enters the payout currency from it, at the locked amounts; the rounding stays there.
 * With escrow, the hold is posted (for the actual amount when lower) and the issuer receivable
 * repays the platform funding that held it.
 */
export function redemption(o: OrderMoney, escrowHeld?: number): Booking {
  const k = keys(o);
  const margin = o.face - o.seller - o.commission;
  if (margin < 0) throw new RangeError(`order ${o.orderId}: price exceeds face value`);
  const fx = o.payoutCurrency !== o.currency;
  const sellerTarget = escrowHeld !== undefined ? k.funding : k.payable;
  const t: TransferInput[] = [];
  if (escrowHeld !== undefined) {
    const posted = Math.min(escrowHeld, o.payout);
    t.push({
      id: `${o.orderId}:hold:post`,
      kind: 'post',
      pending_id: `${o.orderId}:hold`,
      amount: posted,
      code: CODES.escrow_release,
      ...ref(o.orderId),
    });
    t.push(
      ...single(
        `${o.orderId}:hold:top_up`,
        k.funding,
        k.payable,
        o.payout - posted,
        CODES.escrow_top_up,
        o.orderId,
      ),
    );
  }
  if (fx) {
    t.push(...single(`${o.orderId}:fx_out`, k.receivable, k.fxFrom, o.seller, CODES.fx_out, o.orderId));
    t.push(...single(`${o.orderId}:seller`, k.fxTo, sellerTarget, o.payout, CODES.seller, o.orderId));
  } else {
    t.push(...single(`${o.orderId}:seller`, k.receivable, sellerTarget, o.seller, CODES.seller, o.orderId));
  }
  t.push(
    ...single(
      `${o.orderId}:commission`,
      k.receivable,
      k.commission,
      o.commission,
      CODES.commission,
      o.orderId,
    ),
  );
  t.push(...single(`${o.orderId}:margin`, k.receivable, k.margin, margin, CODES.margin, o.orderId));
  return { transfers: t, open: Object.values(k) };
}

/** What a payout books. */
export interface PayoutMoney {
  payoutId: string;
  channelId: string;
  sellerId: string;
  provider: string;
  currency: string;
  /** Sent to the destination. */
  amount: number;
  /** Kept by the platform. */
  fee: number;
}

function payoutKeys(p: PayoutMoney) {
  return {
    payable: {
      kind: 'seller_payable',
      currency: p.currency,
      owner: sellerOwner(p.channelId, p.sellerId),
    } as AccountKey,
    clearing: { kind: 'payout_clearing', currency: p.currency, owner: p.provider } as AccountKey,
    cash: { kind: 'provider_cash', currency: p.currency, owner: p.provider } as AccountKey,
    fees: { kind: 'fees', currency: p.currency } as AccountKey,
  };
}

const pref = (payoutId: string) => ({ ref_type: 'payout', ref_id: payoutId });

/** A payout made: the amount and its fee are held against the seller payable until the provider answers. */
export function payoutHold(p: PayoutMoney): Booking {
  const k = payoutKeys(p);
  const t: TransferInput[] = [
    {
      id: `${p.payoutId}:amount`,
      kind: 'pending',
      debit_account_id: accountId(k.payable),
      credit_account_id: accountId(k.clearing),
      amount: p.amount,
      code: CODES.payout,
      ...pref(p.payoutId),
    },
  ];
  if (p.fee > 0)
    t.push({
      id: `${p.payoutId}:fee`,
      kind: 'pending',
      debit_account_id: accountId(k.payable),
      credit_account_id: accountId(k.fees),
      amount: p.fee,
      code: CODES.payout_fee,
      ...pref(p.payoutId),
    });
  return { transfers: t, open: Object.values(k) };
}

/** The provider paid: the holds are posted and the clearing account passes the amount to the provider's cash. */
export function payoutPaid(p: PayoutMoney): Booking {
  const k = payoutKeys(p);
  const t: TransferInput[] = [
    {
      id: `${p.payoutId}:amount:post`,
      kind: 'post',
      pending_id: `${p.payoutId}:amount`,
      code: CODES.payout,
      ...pref(p.payoutId),
    },
  ];
  if (p.fee > 0)
    t.push({
      id: `${p.payoutId}:fee:post`,
      kind: 'post',
      pending_id: `${p.payoutId}:fee`,
      code: CODES.payout_fee,
      ...pref(p.payoutId),
    });
  t.push({
    id: `${p.payoutId}:cash`,
    kind: 'single',
    debit_account_id: accountId(k.clearing),
    credit_account_id: accountId(k.cash),
    amount: p.amount,
    code: CODES.payout_cash,
    ...pref(p.payoutId),
  });
  return { transfers: t, open: Object.values(k) };
}

/** The provider refused: the holds are released and the seller is owed the money again. */
export function payoutFailed(p: PayoutMoney): Booking {
  const t: TransferInput[] = [
    {
      id: `${p.payoutId}:amount:void`,
      kind: 'void',
      pending_id: `${p.payoutId}:amount`,
      code: CODES.payout,
      ...pref(p.payoutId),
    },
  ];
  if (p.fee > 0)
    t.push({
      id: `${p.payoutId}:fee:void`,
      kind: 'void',
      pending_id: `${p.payoutId}:fee`,
      code: CODES.payout_fee,
      ...pref(p.payoutId),
    });
  return { transfers: t, open: [] };
}
