import { sql, type Transaction } from 'kysely';
import { newId } from '../../shared/ids.js';
import type { Db, Dialect } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { ACCOUNT_KINDS, type AccountKey, accountId, flagBits } from './accounts.js';
import type { AccountState, PendingState, Plan, TransferInput, TransferRecord } from './transfer.js';

type Trx = Transaction<Database>;

/** Creates the accounts that do not exist yet; an existing one is left as it is. */
export async function insertAccounts(trx: Trx, keys: readonly AccountKey[], nowMs: number): Promise<void> {
  if (keys.length === 0) return;
  // In id order, like every lock the ledger takes: two batches creating the same accounts meet in the same order.
  const sorted = [...new Map(keys.map((k) => [accountId(k), k])).entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, k]) => k);
  await trx
    .insertInto('ledger_accounts')
    .values(
      sorted.map((k) => ({
        id: accountId(k),
        kind: k.kind,
        currency: k.currency,
        owner: k.owner ?? '',
        flags: flagBits(ACCOUNT_KINDS[k.kind].flags),
        debits_pending: 0,
        debits_posted: 0,
        credits_pending: 0,
        credits_posted: 0,
        created_at: nowMs,
        updated_at: nowMs,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/**
 * What a batch needs to be decided, read under lock on PostgreSQL: the stored transfers it names
 * (repeated ids, pending transfers), then the accounts, each set in id order so that two batches
 * never wait on each other in a circle.
 */
export async function readForPlan(
  trx: Trx,
  dialect: Dialect,
  inputs: readonly TransferInput[],
): Promise<{ accounts: Map<string, AccountState>; transfers: Map<string, TransferRecord> }> {
  const ids = new Set<string>();
  for (const t of inputs) {
    ids.add(t.id);
    if (t.pending_id) ids.add(t.pending_id);
  }
  const transfers = new Map<string, TransferRecord>();
  if (ids.size > 0) {
    let tq = trx
      .selectFrom('ledger_transfers')
      .selectAll()
      .where('id', 'in', [...ids].sort());
    if (dialect === 'postgres') tq = tq.orderBy('id').forUpdate();
    for (const row of await tq.execute()) transfers.set(row.id, toRecord(row));
  }

  const accountIds = new Set<string>();
  for (const t of inputs) {
    if (t.debit_account_id) accountIds.add(t.debit_account_id);
    if (t.credit_account_id) accountIds.add(t.credit_account_id);
    const held = t.pending_id ? transfers.get(t.pending_id) : undefined;
    if (held) {
      accountIds.add(held.debit_account_id);
      accountIds.add(held.credit_account_id);
    }
  }
  const accounts = new Map<string, AccountState>();
  if (accountIds.size > 0) {
    let aq = trx
      .selectFrom('ledger_accounts')
      .select([
        'id',
        'currency',
        'flags',
        'debits_pending',
        'debits_posted',
        'credits_pending',
        'credits_posted',
      ])
      .where('id', 'in', [...accountIds].sort());
    if (dialect === 'postgres') aq = aq.orderBy('id').forUpdate();
    for (const a of await aq.execute()) accounts.set(a.id, a);
  }
  return { accounts, transfers };
}

/** Writes what a plan decided. Balances move by deltas, so the row is never rewritten whole. */
export async function applyPlan(trx: Trx, plan: Plan, nowMs: number): Promise<void> {
  if (plan.rows.length > 0)
    await trx
      .insertInto('ledger_transfers')
      .values(plan.rows.map((r) => ({ ...r, entry: newId('ent', nowMs) })))
      .execute();
  if (plan.deltas.size > 0) await moveBalances(trx, plan.deltas, nowMs);
  for (const [id, state] of plan.resolved) await setPendingState(trx, id, state);
}

type Deltas = Plan['deltas'];
const COLUMNS = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'] as const;

/**
 * Every account a batch moves, in one statement (`x = x + CASE id WHEN … END`): a card's booking
 * touches four accounts, and on PostgreSQL each statement is a round trip made while the accounts
 * are locked.
 */
async function moveBalances(trx: Trx, deltas: Deltas, nowMs: number): Promise<void> {
  const ids = [...deltas.keys()];
  const delta = (column: (typeof COLUMNS)[number]) =>
    // Every branch typed bigint: PostgreSQL would type the CASE from a bare 0 as a 32-bit integer.
    sql<number>`${sql.ref(column)} + case ${sql.ref('id')} ${sql.join(
      ids.map((id) => sql`when ${id} then cast(${deltas.get(id)?.[column] ?? 0} as bigint)`),
      sql` `,
    )} else cast(0 as bigint) end`;
  const r = await trx
    .updateTable('ledger_accounts')
    .set({
      debits_pending: delta('debits_pending'),
      debits_posted: delta('debits_posted'),
      credits_pending: delta('credits_pending'),
      credits_posted: delta('credits_posted'),
      updated_at: nowMs,
    })
    .where('id', 'in', ids)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== ids.length)
    throw new Error(`ledger: ${ids.length - Number(r.numUpdatedRows)} accounts vanished`);
}

export async function setPendingState(trx: Trx, id: string, state: PendingState): Promise<void> {
  const r = await trx
    .updateTable('ledger_transfers')
    .set({ pending_state: state })
    .where('id', '=', id)
    .where('pending_state', '=', 'pending')
    .executeTakeFirst();
  // The plan read it pending under lock; anything else is a bug, and the transaction must not commit.
  if (Number(r.numUpdatedRows) !== 1) throw new Error(`pending transfer ${id} was resolved twice`);
}

export function toRecord(row: Database['ledger_transfers']): TransferRecord {
  const { entry: _entry, ...rest } = row;
  return rest;
}

/** Pending transfers whose timeout has passed, oldest first. */
export function duePending(db: Db, nowMs: number, limit: number) {
  return db
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('pending_state', '=', 'pending')
    .where('expires_at', '<=', nowMs)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
}
