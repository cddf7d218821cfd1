import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import {
  amountNumber,
  type Currency,
  convert,
  invertRate,
  isCurrency,
  money,
  parseDecimalRate,
} from '../../shared/money.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { CardTypeRow, CardTypeService } from '../cards/index.js';
import { adjustmentAt, type PricingBook, type PricingSnapshot } from './book.js';
import type { PriceError } from './errors.js';
import { chooseFx } from './fx.js';
import type { FxApplied, OrderPrice, QuoteQuery, QuoteView } from './model.js';
import { adjustedRate, splitFace } from './price.js';
import { resolveRate } from './rates.js';
import { findPrice, insertPrice, insertPrices, type PriceRow, pricesByIds } from './store.js';

/** What pricing needs of a channel. */
export interface PricedChannel {
  id: string;
  group_id: string | null;
  settlement_currency: string | null;
}

/** A price's computed part: everything but its identity and lifetime. */
export type ComputedPrice = Omit<
  PriceRow,
  'id' | 'kind' | 'order_id' | 'replaces' | 'created_at' | 'expires_at'
>;

export interface PricingDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  book: PricingBook;
  quoteTtlMs: number;
  fxMaxAgeMs: number;
  /** How soon an fx_unavailable refusal says to try again: about when the feed is read again. */
  fxRetryAfterS: number;
  onRefused?(code: 'no_offer' | 'fx_unavailable'): void;
  /** The card catalogue (cached). */
  cardTypes: Pick<CardTypeService, 'find'>;
}

export function acceptedFaces(type: Pick<CardTypeRow, 'face_values'>): number[] {
  return JSON.parse(type.face_values) as number[];
}

export function fxOf(row: Pick<PriceRow, 'fx_base' | 'fx_quote' | 'fx_rate' | 'fx_as_of'>): FxApplied | null {
  if (row.fx_base === null || row.fx_quote === null || row.fx_rate === null || row.fx_as_of === null)
    return null;
  return { base: row.fx_base, quote: row.fx_quote, rate: row.fx_rate, as_of: rfc3339(row.fx_as_of) };
}

/** The fields every view of a price shows (quotes, orders, explanations). */
export function priceFields(row: PriceRow) {
  return {
    face_value: row.face_value,
    currency: row.currency,
    rate_bps: row.rate_bps,
    seller_amount: row.seller_amount,
    commission_amount: row.commission_amount,
    payout_amount: row.payout_amount,
    payout_currency: row.payout_currency,
    fx: fxOf(row),
    priced_at: rfc3339(row.created_at),
  };
}

export function quoteView(row: PriceRow): QuoteView {
  return {
    quote_id: row.id,
    card_type: row.card_type,
    ...priceFields(row),
    expires_at: rfc3339(row.expires_at ?? row.created_at),
  };
}

export function orderPrice(row: PriceRow): OrderPrice {
  return { price_id: row.id, quote_id: row.kind === 'quote' ? row.id : null, ...priceFields(row) };
}

/** The exact rate from a price's card currency into its payout currency, as it was locked. */
function lockedRate(row: PriceRow) {
  if (row.fx_rate === null) return undefined;
  const published = parseDecimalRate(row.fx_rate);
  return row.fx_base === row.currency ? published : invertRate(published);
}

/**
 * Prices cards (docs/architecture.md#money, docs/pricing.md): quotes for channels, the price of an order at
 * intake, and the repricing of an order the issuer redeemed at another face value.
 */
export function createPricingService(deps: PricingDeps) {
  const { db, committer, clock, book } = deps;

  function refuse(f: PriceError & { code: 'no_offer' | 'fx_unavailable' }): PriceError {
    deps.onRefused?.(f.code);
    return f;
  }

  /** Computes a price from the snapshot: the rate in force, its adjustment, the split, the payout. */
  function compute(
    snapshot: PricingSnapshot,
    channel: PricedChannel,
    type: Pick<CardTypeRow, 'code' | 'name' | 'currency'>,
    face: number,
    at: number,
    faceField: string,
  ): Result<ComputedPrice, PriceError['code']> {
    const currency = type.currency;
    if (!isCurrency(currency))
      return refuse(
        fail('no_offer', `${type.name} is in ${currency}, which Recard does not hold.`, {
          field: 'card_type',
        }),
      );
    const ask = { cardType: type.code, face, channelId: channel.id, groupId: channel.group_id, at };
    const rate = resolveRate(snapshot.rates, { ...ask, kind: 'rate' });
    if (!rate)
      return refuse(
        fail('no_offer', `There is no offer for ${type.name} at face value ${face} now.`, {
          field: faceField,
        }),
      );
    const commission = resolveRate(snapshot.rates, { ...ask, kind: 'commission' });
    const adjustment = adjustmentAt(snapshot, type.code, at);
    const rateBps = adjustment
      ? adjustedRate(rate.range.bps, adjustment.adjustment_bps, {
          floorBps: adjustment.floor_bps,
          ceilingBps: adjustment.ceiling_bps,
        })
      : rate.range.bps;
    const commissionBps = commission?.range.bps ?? 0;
    const split = splitFace(money(face, currency), rateBps, commissionBps);

    const payoutCurrency = (channel.settlement_currency ?? currency) as Currency;
    let payout = split.seller;
    let fx: ReturnType<typeof chooseFx>;
    if (payoutCurrency !== currency) {
      fx = chooseFx(snapshot.fx, currency, payoutCurrency, at, deps.fxMaxAgeMs);
      if (!fx)
        return refuse(
          fail(
            'fx_unavailable',
            `No fresh ${currency}→${payoutCurrency} exchange rate; cards paid out in ${payoutCurrency} cannot be priced now.`,
            { retryAfterS: deps.fxRetryAfterS },
          ),
        );
      payout = convert(split.seller, fx.rate, payoutCurrency);
    }
    return ok({
      channel_id: channel.id,
      card_type: type.code,
      face_value: face,
      currency,
      rate_bps: rateBps,
      table_rate_bps: rate.range.bps,
      rate_range_id: rate.range.id,
      commission_bps: commissionBps,
      commission_range_id: commission?.range.id ?? null,
      adjustment_bps: adjustment?.adjustment_bps ?? 0,
      adjustment_id: adjustment?.id ?? null,
      seller_amount: amountNumber(split.seller),
      commission_amount: amountNumber(split.commission),
      margin_amount: amountNumber(split.margin),
      payout_amount: amountNumber(payout),
      payout_currency: payoutCurrency,
      fx_rate_id: fx?.row.id ?? null,
      fx_base: fx?.row.base ?? null,
      fx_quote: fx?.row.quote ?? null,
      fx_rate: fx?.row.rate ?? null,
      fx_as_of: fx?.row.asOf ?? null,
    });
  }

  return {
    compute,

    /** GET /v1/quotes: a price held for the channel until expires_at. */
    async quote(channel: PricedChannel, q: QuoteQuery): Promise<Result<QuoteView, PriceError['code']>> {
      const type = await deps.cardTypes.find(q.card_type);
      if (type?.enabled !== 1)
        return fail(
          'unsupported_card_type',
          `Card type ${q.card_type} is not accepted; see GET /v1/card-types.`,
          {
            field: 'card_type',
          },
        );
      const faces = acceptedFaces(type);
      if (!faces.includes(q.face_value))
        return fail(
          'unsupported_face_value',
          `${type.name} is accepted at face values ${faces.join(', ')} (minor units), not ${q.face_value}.`,
          { field: 'face_value' },
        );
      const now = clock.now();
      const computed = compute(await book.current(), channel, type, q.face_value, now, 'face_value');
      if (!computed.ok) return computed;
      const row: PriceRow = {
        id: newId('quo', now),
        kind: 'quote',
        order_id: null,
        replaces: null,
        ...computed.value,
        created_at: now,
        expires_at: now + deps.quoteTtlMs,
      };
      await committer.run((trx) => insertPrice(trx, row));
      return ok(quoteView(row));
    },

    /**
     * The price an order is settled at: the quote's, when a valid one is given, else the price in
     * force now. A new price is returned unsaved (`save: true`): the caller writes it with the order.
     */
    async forIntake(
      channel: PricedChannel,
      type: Pick<CardTypeRow, 'code' | 'name' | 'currency'>,
      face: number,
      quoteId: string | undefined,
      orderId: string,
      now: number,
    ): Promise<Result<{ row: PriceRow; save: boolean }, PriceError['code']>> {
      if (quoteId !== undefined) {
        const quoted = await findPrice(db, quoteId);
        // Unknown, another channel's and expired look alike: a quote id reveals nothing.
        if (quoted?.kind !== 'quote' || quoted.channel_id !== channel.id || (quoted.expires_at ?? 0) <= now)
          return fail('quote_expired', 'The quote has expired or is not yours; ask for a new one.', {
            field: 'quote_id',
          });
        if (quoted.card_type !== type.code || quoted.face_value !== face)
          return fail(
            'quote_mismatch',
            `The quote is for ${quoted.card_type} at ${quoted.face_value}, not this card (${type.code} at ${face}).`,
            { field: 'quote_id' },
          );
        return ok({ row: quoted, save: false });
      }
      const computed = compute(await book.current(), channel, type, face, now, 'declared_face_value');
      if (!computed.ok) return computed;
      return ok({
        row: {
          id: newId('prc', now),
          kind: 'intake',
          order_id: orderId,
          replaces: null,
          ...computed.value,
          created_at: now,
          expires_at: null,
        },
        save: true,
      });
    },

    /**
     * An order redeemed at another face value than it was priced at (the channel settles the actual
     * value): the locked rates and exchange rate of its price `priceId` applied to the actual face
     * value, as a new price in the caller's transaction. Nothing when the face value did not change.
     */
    async reprice(
      trx: Db,
      orderId: string,
      priceId: string,
      actualFace: number,
      now: number,
    ): Promise<PriceRow | undefined> {
      const was = await findPrice(trx, priceId);
      if (
        !was ||
        was.face_value === actualFace ||
        !isCurrency(was.currency) ||
        !isCurrency(was.payout_currency)
      )
        return undefined;
      const split = splitFace(money(actualFace, was.currency), was.rate_bps, was.commission_bps);
      const rate = lockedRate(was);
      const payout = rate ? convert(split.seller, rate, was.payout_currency) : split.seller;
      const row: PriceRow = {
        ...was,
        id: newId('prc', now),
        kind: 'reprice',
        order_id: orderId,
        replaces: was.id,
        face_value: actualFace,
        seller_amount: amountNumber(split.seller),
        commission_amount: amountNumber(split.commission),
        margin_amount: amountNumber(split.margin),
        payout_amount: amountNumber(payout),
        created_at: now,
        expires_at: null,
      };
      await insertPrice(trx, row);
      return row; // the caller names it on the order, in this transaction
    },

    /** A price computed by forIntake (`save: true`), written with its order. */
    save: (trx: Db, row: PriceRow) => insertPrice(trx, row),
    /** As save for many prices in one transaction (a batch file's chunk). */
    saveMany: (trx: Db, rows: readonly PriceRow[]) => insertPrices(trx, rows),
    find: (from: Db, id: string) => findPrice(from, id),
    findMany: (from: Db, ids: string[]) => pricesByIds(from, ids),
  };
}

export type PricingService = ReturnType<typeof createPricingService>;
