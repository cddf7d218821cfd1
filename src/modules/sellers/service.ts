import type { Transaction } from 'kysely';
import type { DestinationKind, PayoutDestination } from '../../adapters/payouts/port.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db, Dialect } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { checkDestination, currencyOf, maskAccount, sameName } from './destinations.js';
import type { SellerError } from './errors.js';
import type { DestinationInput, DestinationView, SellerInput, SellerView } from './model.js';

type Trx = Transaction<Database>;
type SellerRow = Database['sellers'];
type DestinationRow = Database['payout_destinations'];
type Answer<T> = Promise<Result<T, SellerError['code']>>;

function sellerView(r: SellerRow): SellerView {
  return {
    id: r.id,
    name: r.name,
    verified_name: r.verified_name,
    verified: r.verified === 1,
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
  };
}

function destinationView(r: DestinationRow): DestinationView {
  const kind = r.kind as DestinationKind;
  return {
    id: r.id,
    seller_id: r.seller_id,
    kind,
    account_masked: maskAccount(kind, r.account),
    network: r.network,
    holder_name: r.holder_name,
    currency: currencyOf(kind),
    default: r.is_default === 1,
    created_at: rfc3339(r.created_at),
  };
}

/** A destination as the payout provider needs it. */
function toPayoutDestination(d: DestinationRow): PayoutDestination {
  return {
    kind: d.kind as DestinationKind,
    account: d.account,
    holderName: d.holder_name,
    ...(d.network ? { network: d.network as 'trc20' | 'erc20' } : {}),
  };
}

/** Where a seller is paid in a currency, as the payout provider needs it. */
export interface PayoutTarget {
  destinationId: string;
  destination: PayoutDestination;
  verified: boolean;
}

/**
 * Sellers of a channel and where they are paid (docs/settlement.md#sellers). A destination is checked
 * for format and must be in the seller's verified name (same-name payout).
 */
export function createSellerService({ db, dialect, clock }: { db: Db; dialect: Dialect; clock: Clock }) {
  const find = (from: Db, channelId: string, id: string) =>
    from
      .selectFrom('sellers')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('id', '=', id)
      .executeTakeFirst();

  return {
    /** Records a seller the first time an order names it (in the order's settlement transaction). */
    async ensure(trx: Trx, channelId: string, sellerId: string, name: string | null): Promise<void> {
      const now = clock.now();
      await trx
        .insertInto('sellers')
        .values({
          channel_id: channelId,
          id: sellerId,
          name,
          verified_name: null,
          verified: 0,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['channel_id', 'id']).doNothing())
        .execute();
    },

    /**
     * Holds the seller's row until the caller's transaction ends (PostgreSQL; SQLite has one writer):
     * two payouts of one seller are decided one after the other, so daily limits hold.
     */
    async lock(trx: Trx, channelId: string, sellerId: string): Promise<void> {
      if (dialect !== 'postgres') return;
      await trx
        .selectFrom('sellers')
        .select('id')
        .where('channel_id', '=', channelId)
        .where('id', '=', sellerId)
        .forUpdate()
        .execute();
    },

    async get(channelId: string, id: string): Answer<SellerView> {
      const row = await find(db, channelId, id);
      return row
        ? ok(sellerView(row))
        : fail('resource_not_found', `No seller ${id}.`, { field: 'params.seller_id' });
    },

    async list(channelId: string, page: { limit: number; cursor?: string }) {
      let q = db
        .selectFrom('sellers')
        .selectAll()
        .where('channel_id', '=', channelId)
        .orderBy('id')
        .limit(page.limit + 1);
      if (page.cursor) q = q.where('id', '>', page.cursor);
      const rows = await q.execute();
      const data = rows.slice(0, page.limit).map(sellerView);
      return { data, next_cursor: rows.length > page.limit ? (data.at(-1)?.id ?? null) : null };
    },

    /** Creates or updates a seller's identity as the channel has checked it. */
    async put(channelId: string, id: string, input: SellerInput): Answer<SellerView> {
      const now = clock.now();
      await db
        .insertInto('sellers')
        .values({
          channel_id: channelId,
          id,
          name: null,
          verified_name: input.verified_name ?? null,
          verified: input.verified ? 1 : 0,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['channel_id', 'id']).doUpdateSet({
            ...(input.verified_name !== undefined ? { verified_name: input.verified_name } : {}),
            ...(input.verified !== undefined ? { verified: input.verified ? 1 : 0 } : {}),
            updated_at: now,
          }),
        )
        .execute();
      return ok(sellerView((await find(db, channelId, id)) as SellerRow));
    },

    async addDestination(
      channelId: string,
      sellerId: string,
      input: DestinationInput,
    ): Answer<DestinationView> {
      const seller = await find(db, channelId, sellerId);
      if (!seller) return fail('resource_not_found', `No seller ${sellerId}.`, { field: 'params.seller_id' });
      if (!seller.verified_name)
        return fail('seller_name_required', 'Set the seller’s verified_name before adding a destination.', {
          field: 'params.seller_id',
        });
      if (!sameName(seller.verified_name, input.holder_name))
        return fail(
          'holder_name_mismatch',
          "The holder name is not the seller's verified name (same-name payout).",
          {
            field: 'holder_name',
          },
        );
      const checked = checkDestination(input.kind, input.account, input.network);
      if (!checked.ok) return fail('destination_invalid', checked.message, { field: checked.field });
      const now = clock.now();
      const currency = currencyOf(input.kind);
      const row: DestinationRow = {
        id: newId('dst', now),
        channel_id: channelId,
        seller_id: sellerId,
        kind: input.kind,
        account: checked.account,
        network: checked.network,
        holder_name: input.holder_name,
        is_default: 0,
        status: 'active',
        created_at: now,
        updated_at: now,
      };
      await db.transaction().execute(async (trx) => {
        const others = (await activeDestinations(trx, channelId, sellerId)).filter(
          (d) => currencyOf(d.kind as DestinationKind) === currency,
        );
        const makeDefault = input.default === true || !others.some((d) => d.is_default === 1);
        if (makeDefault && others.length > 0)
          await trx
            .updateTable('payout_destinations')
            .set({ is_default: 0, updated_at: now })
            .where(
              'id',
              'in',
              others.map((d) => d.id),
            )
            .execute();
        row.is_default = makeDefault ? 1 : 0;
        await trx.insertInto('payout_destinations').values(row).execute();
      });
      return ok(destinationView(row));
    },

    async destinations(channelId: string, sellerId: string): Answer<DestinationView[]> {
      if (!(await find(db, channelId, sellerId)))
        return fail('resource_not_found', `No seller ${sellerId}.`, { field: 'params.seller_id' });
      return ok((await activeDestinations(db, channelId, sellerId)).map(destinationView));
    },

    /** Removed destinations are kept (payouts name them) but never paid again. */
    async removeDestination(channelId: string, sellerId: string, id: string): Answer<{ deleted: true }> {
      const removed = await db.transaction().execute(async (trx) => {
        const d = (await activeDestinations(trx, channelId, sellerId)).find((x) => x.id === id);
        if (!d) return false;
        const r = await trx
          .updateTable('payout_destinations')
          .set({ status: 'removed', is_default: 0, updated_at: clock.now() })
          .where('id', '=', id)
          .where('status', '=', 'active')
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        // The oldest other destination of the currency becomes the default, so payouts do not stop.
        const currency = currencyOf(d.kind as DestinationKind);
        const others = (await activeDestinations(trx, channelId, sellerId)).filter(
          (x) => x.id !== id && currencyOf(x.kind as DestinationKind) === currency,
        );
        if (d.is_default === 1 || !others.some((x) => x.is_default === 1)) {
          const next = others[0];
          if (next)
            await trx
              .updateTable('payout_destinations')
              .set({ is_default: 1, updated_at: clock.now() })
              .where('id', '=', next.id)
              .execute();
        }
        return true;
      });
      return removed
        ? ok({ deleted: true })
        : fail('resource_not_found', `No destination ${id} for seller ${sellerId}.`, { field: 'params.id' });
    },

    /** The seller's default destination in a currency, and whether the seller is verified. */
    async payoutTarget(
      from: Db,
      channelId: string,
      sellerId: string,
      currency: string,
    ): Promise<PayoutTarget | undefined> {
      const seller = await find(from, channelId, sellerId);
      if (!seller) return undefined;
      const d = (await activeDestinations(from, channelId, sellerId)).find(
        (x) => x.is_default === 1 && currencyOf(x.kind as DestinationKind) === currency,
      );
      // Same-name payout holds at payment time too: a verified name changed since makes the destination unusable.
      if (!d || !seller.verified_name || !sameName(seller.verified_name, d.holder_name)) return undefined;
      return {
        destinationId: d.id,
        verified: seller.verified === 1,
        destination: toPayoutDestination(d),
      };
    },

    /**
     * A destination as the provider needs it, by id (a payout keeps the one it was made for), and
     * whether it may still be paid: not removed, and still in the seller's verified name.
     */
    async destination(
      from: Db,
      id: string,
    ): Promise<{ destination: PayoutDestination; active: boolean } | undefined> {
      const d = await from
        .selectFrom('payout_destinations')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!d) return undefined;
      const seller = await find(from, d.channel_id, d.seller_id);
      const active =
        d.status === 'active' &&
        seller?.verified_name != null &&
        sameName(seller.verified_name, d.holder_name);
      return {
        active,
        destination: toPayoutDestination(d),
      };
    },
  };
}

function activeDestinations(from: Db, channelId: string, sellerId: string) {
  return from
    .selectFrom('payout_destinations')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('seller_id', '=', sellerId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
}

export type SellerService = ReturnType<typeof createSellerService>;
