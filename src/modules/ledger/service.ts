import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db, Dialect } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { ACCOUNT_KINDS, type AccountKey, type AccountKind, accountId, flagsOf } from './accounts.js';
import type { LedgerError } from './errors.js';
import type { AccountView, EntryList, EntryView } from './model.js';
import { applyPlan, duePending, insertAccounts, readForPlan, setPendingState, toRecord } from './store.js';
import { entryMoves, expiryOf, plan, type TransferInput, type TransferResult } from './transfer.js';

type Trx = Transaction<Database>;

export interface LedgerDeps {
  db: Db;
  dialect: Dialect;
  clock: Clock;
}

export interface TransferOutcome {
  /** Every transfer was created or already existed with the same fields. */
  ok: boolean;
  results: TransferResult[];
}

/** A batch the flow itself made was refused: a bug or a broken invariant, never a caller's mistake. */
export class LedgerRefusal extends Error {
  override name = 'LedgerRefusal';
  constructor(
    readonly inputs: readonly TransferInput[],
    readonly results: readonly TransferResult[],
  ) {
    super(`ledger refused: ${inputs.map((t, i) => `${t.id}=${results[i]}`).join(', ')}`);
  }
}

/**
 * The ledger's face. Transfers are written in the caller's transaction, with the order or payout
 * change that caused them; a posted transfer is never changed or deleted (docs/ledger.md).
 */
export function createLedger(deps: LedgerDeps) {
  const { db, dialect, clock } = deps;
  const knownAccounts = new Set<string>();

  async function create(
    trx: Trx,
    inputs: readonly TransferInput[],
    options: { linked?: boolean; open?: readonly AccountKey[] } = {},
  ): Promise<TransferOutcome> {
    const nowMs = clock.now();
    // Accounts are made the first time a transfer needs them, before any row is locked: a batch
    // that held one account while it waited to create another could wait on a twin doing the
    // opposite. Accounts seen to exist are remembered (they are never deleted), so this costs one
    // round trip per new account, not per batch.
    // Only the accounts these transfers name (a booking's list may name some it does not use).
    const named = new Set<string>();
    for (const t of inputs) {
      if (t.debit_account_id) named.add(t.debit_account_id);
      if (t.credit_account_id) named.add(t.credit_account_id);
    }
    const open = (options.open ?? []).filter((k) => named.has(accountId(k)));
    const unknown = open.filter((k) => !knownAccounts.has(accountId(k)));
    if (unknown.length > 0) await insertAccounts(trx, unknown, nowMs);
    let read = await readForPlan(trx, dialect, inputs);
    const missing = open.filter((k) => !read.accounts.has(accountId(k)));
    if (missing.length > 0) {
      // Remembered by a transaction that rolled back: make them again (rare).
      for (const k of missing) knownAccounts.delete(accountId(k));
      await insertAccounts(trx, missing, nowMs);
      read = await readForPlan(trx, dialect, inputs);
    }
    for (const id of read.accounts.keys()) knownAccounts.add(id);
    let decided = plan({ inputs, linked: options.linked ?? true, ...read, nowMs });
    // PostgreSQL, read committed: a twin batch that resolved the same hold under the same id may
    // have committed while this one waited for the lock; its row was not in the first read. Read again.
    if (
      dialect === 'postgres' &&
      decided.results.some(
        (r) => r === 'pending_transfer_already_posted' || r === 'pending_transfer_already_voided',
      )
    ) {
      read = await readForPlan(trx, dialect, inputs);
      decided = plan({ inputs, linked: options.linked ?? true, ...read, nowMs });
    }
    const okAll = decided.results.every((r) => r === 'created' || r === 'exists');
    if (decided.rows.length > 0) await applyPlan(trx, decided, nowMs);
    return { ok: okAll, results: decided.results };
  }

  return {
    accountId,

    /** Makes sure these accounts exist (an existing one is left as it is). */
    open: (trx: Trx, keys: readonly AccountKey[]) => insertAccounts(trx, keys, clock.now()),

    /** Creates transfers (linked by default: all or none). Refusals come back as results. */
    create,

    /** As `create`, for transfers the flow makes: a refusal throws and rolls the transaction back. */
    async post(trx: Trx, inputs: readonly TransferInput[], open: readonly AccountKey[] = []): Promise<void> {
      if (inputs.length === 0) return;
      const out = await create(trx, inputs, { linked: true, open });
      if (!out.ok) throw new LedgerRefusal(inputs, out.results);
    },

    /** Stored transfers by id (missing ones are left out). */
    async transfersById(from: Db, ids: readonly string[]) {
      if (ids.length === 0) return [];
      const rows = await from
        .selectFrom('ledger_transfers')
        .selectAll()
        .where('id', 'in', [...ids])
        .execute();
      return rows.map(toRecord);
    },

    /** Transfers caused by one thing (an order, a payout), oldest first. */
    async transfersOf(from: Db, refType: string, refId: string) {
      const rows = await from
        .selectFrom('ledger_transfers')
        .selectAll()
        .where('ref_type', '=', refType)
        .where('ref_id', '=', refId)
        .orderBy('entry')
        .execute();
      return rows.map(toRecord);
    },

    /** Releases holds whose timeout passed; each in its own transaction. */
    async expireDue(limit = 500): Promise<number> {
      const due = await duePending(db, clock.now(), limit);
      let expired = 0;
      for (const held of due) {
        const done = await db.transaction().execute(async (trx) => {
          // Reading it as a void locks the hold and both its accounts, as a void by a caller would.
          const { transfers } = await readForPlan(trx, dialect, [
            { id: `${held.id}:expired`, kind: 'void', pending_id: held.id, code: held.code },
          ]);
          const now = transfers.get(held.id);
          if (now?.pending_state !== 'pending' || transfers.has(`${held.id}:expired`)) return false;
          const row = expiryOf(now, clock.now());
          await applyPlan(
            trx,
            {
              results: ['created'],
              rows: [row],
              deltas: new Map([
                [
                  now.debit_account_id,
                  { debits_pending: -now.amount, debits_posted: 0, credits_pending: 0, credits_posted: 0 },
                ],
                [
                  now.credit_account_id,
                  { debits_pending: 0, debits_posted: 0, credits_pending: -now.amount, credits_posted: 0 },
                ],
              ]),
              resolved: new Map(),
            },
            clock.now(),
          );
          await setPendingState(trx, held.id, 'expired');
          return true;
        });
        if (done) expired++;
      }
      return expired;
    },

    async account(id: string, from: Db = db): Promise<Result<AccountView, LedgerError['code']>> {
      const row = await from
        .selectFrom('ledger_accounts')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return fail('resource_not_found', `no account ${id}`, { field: 'id' });
      return ok(accountView(row));
    },

    /** Balances summed per currency over the accounts of a kind whose owner starts with a prefix. */
    async totals(kind: AccountKind, ownerPrefix: string, from: Db = db) {
      const rows = await from
        .selectFrom('ledger_accounts')
        .select([
          'currency',
          sql<string>`sum(credits_posted - debits_posted)`.as('net_credit'),
          sql<string>`sum(debits_pending)`.as('debits_pending'),
          sql<string>`sum(credits_pending)`.as('credits_pending'),
        ])
        .where('kind', '=', kind)
        .where('owner', '>=', ownerPrefix)
        .where('owner', '<', `${ownerPrefix}\uffff`)
        .groupBy('currency')
        .orderBy('currency')
        .execute();
      return rows.map((r) => ({
        currency: r.currency,
        netCredit: Number(r.net_credit),
        debitsPending: Number(r.debits_pending),
        creditsPending: Number(r.credits_pending),
      }));
    },

    async accounts(
      filter: { kind?: AccountKind; currency?: string; owner?: string; ownerPrefix?: string },
      from: Db = db,
    ) {
      let q = from
        .selectFrom('ledger_accounts')
        .selectAll()
        .orderBy('kind')
        .orderBy('currency')
        .orderBy('owner');
      if (filter.kind) q = q.where('kind', '=', filter.kind);
      if (filter.currency) q = q.where('currency', '=', filter.currency);
      if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner);
      // A range rather than LIKE: the index serves it and no character of an id is special.
      if (filter.ownerPrefix !== undefined)
        q = q.where('owner', '>=', filter.ownerPrefix).where('owner', '<', `${filter.ownerPrefix}\uffff`);
      return (await q.limit(1000).execute()).map(accountView);
    },

    /**
     * An account's statement: its entries oldest first, each with the posted and pending balance
     * after it (on the account's normal side), paged by entry.
     */
    async entries(
      id: string,
      page: { after?: string; limit: number },
    ): Promise<Result<EntryList, LedgerError['code']>> {
      const acct = await db.selectFrom('ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
      if (!acct) return fail('resource_not_found', `no account ${id}`, { field: 'id' });
      const sign = ACCOUNT_KINDS[acct.kind as AccountKind].normal === 'credit' ? 1 : -1;
      const opening = page.after ? await balanceBefore(id, sign, page.after) : { posted: 0, pending: 0 };
      let q = db
        .selectFrom('ledger_transfers as t')
        .leftJoin('ledger_transfers as h', 'h.id', 't.pending_id')
        .select([
          't.id',
          't.entry',
          't.kind',
          't.code',
          't.amount',
          't.currency',
          't.debit_account_id',
          't.credit_account_id',
          't.pending_id',
          't.pending_state',
          't.ref_type',
          't.ref_id',
          't.created_at',
          'h.amount as held_amount',
        ])
        .where((eb) => eb.or([eb('t.debit_account_id', '=', id), eb('t.credit_account_id', '=', id)]))
        .orderBy('t.entry')
        .limit(page.limit + 1);
      if (page.after) q = q.where('t.entry', '>', page.after);
      const rows = await q.execute();
      const more = rows.length > page.limit;
      let posted = opening.posted;
      let pending = opening.pending;
      const data: EntryView[] = rows.slice(0, page.limit).map((r) => {
        const credit = r.credit_account_id === id;
        const s = (credit ? 1 : -1) * sign;
        const moves = entryMoves(r.kind, r.amount, r.held_amount ?? 0);
        posted += s * moves.posted;
        pending += s * moves.pending;
        return {
          transfer_id: r.id,
          entry: r.entry,
          kind: r.kind as EntryView['kind'],
          code: r.code,
          side: credit ? 'credit' : 'debit',
          amount: r.amount,
          currency: r.currency,
          counter_account_id: credit ? r.debit_account_id : r.credit_account_id,
          pending_id: r.pending_id,
          pending_state: r.pending_state as EntryView['pending_state'],
          ref_type: r.ref_type,
          ref_id: r.ref_id,
          created_at: new Date(r.created_at).toISOString(),
          posted_balance: posted,
          pending_balance: pending,
        };
      });
      return ok({
        account: accountView(acct),
        data,
        next_cursor: more ? (data.at(-1)?.entry ?? null) : null,
      });
    },
  };

  /** The account's balances after every entry up to `entry`, from the stored transfers. */
  async function balanceBefore(id: string, sign: number, entry: string) {
    const rows = await db
      .selectFrom('ledger_transfers as t')
      .leftJoin('ledger_transfers as h', 'h.id', 't.pending_id')
      .select([
        't.kind',
        sql<number>`case when t.credit_account_id = ${id} then 1 else -1 end`.as('dir'),
        sql<string>`sum(t.amount)`.as('amount'),
        sql<string>`coalesce(sum(h.amount), 0)`.as('held'),
      ])
      .where((eb) => eb.or([eb('t.debit_account_id', '=', id), eb('t.credit_account_id', '=', id)]))
      .where('t.entry', '<=', entry)
      .groupBy(['t.kind', 'dir'])
      .execute();
    let posted = 0;
    let pending = 0;
    for (const r of rows) {
      const m = entryMoves(r.kind, Number(r.amount), Number(r.held));
      posted += Number(r.dir) * sign * m.posted;
      pending += Number(r.dir) * sign * m.pending;
    }
    return { posted, pending };
  }
}

export function accountView(row: Database['ledger_accounts']): AccountView {
  const normal = ACCOUNT_KINDS[row.kind as AccountKind].normal;
  const sign = normal === 'credit' ? 1 : -1;
  return {
    id: row.id,
    kind: row.kind as AccountKind,
    currency: row.currency,
    owner: row.owner === '' ? null : row.owner,
    flags: flagsOf(row.flags),
    normal_side: normal,
    debits_pending: row.debits_pending,
    debits_posted: row.debits_posted,
    credits_pending: row.credits_pending,
    credits_posted: row.credits_posted,
    balance: sign * (row.credits_posted - row.debits_posted),
    available:
      normal === 'credit'
        ? row.credits_posted - row.debits_posted - row.debits_pending
        : row.debits_posted - row.credits_posted - row.credits_pending,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

export type Ledger = ReturnType<typeof createLedger>;
