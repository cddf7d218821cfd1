import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { Db } from '../../storage/database.js';
import {
  AccountList,
  AccountListQuery,
  AccountParams,
  AccountView,
  EntryList,
  EntryListQuery,
  TransferRequest,
  TransferResults,
} from './model.js';
import type { Ledger } from './service.js';

const tags = ['admin: ledger'];

/** Accounts, statements and corrections, for admins (`/admin/v1`). */
export function ledgerRoutes(ledger: Ledger, db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/admin/v1/accounts',
      {
        schema: {
          operationId: 'adminListAccounts',
          tags,
          summary: 'Ledger accounts, with their balances',
          querystring: AccountListQuery,
          response: {
            200: answer(AccountList, 'Accounts by kind, currency and owner (at most 1,000).'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => {
        const q = request.query;
        return {
          data: await ledger.accounts({
            ...(q.kind ? { kind: q.kind } : {}),
            ...(q.currency ? { currency: q.currency } : {}),
            ...(q.owner !== undefined ? { owner: q.owner } : {}),
          }),
        };
      },
    );
    app.get(
      '/admin/v1/accounts/:id',
      {
        schema: {
          operationId: 'adminGetAccount',
          tags,
          summary: 'One account',
          params: AccountParams,
          response: { 200: answer(AccountView, 'The account.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await ledger.account(request.params.id)),
    );
    app.get(
      '/admin/v1/accounts/:id/entries',
      {
        schema: {
          operationId: 'adminListAccountEntries',
          tags,
          summary: "An account's statement",
          description:
            'Every transfer that touched the account, oldest first, with the posted and pending balance after each (on the account’s normal side).',
          params: AccountParams,
          querystring: EntryListQuery,
          response: { 200: answer(EntryList, 'The statement page.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => {
        const q = request.query;
        return unwrap(
          await ledger.entries(request.params.id, { limit: q.limit, ...(q.after ? { after: q.after } : {}) }),
        );
      },
    );
    app.post(
      '/admin/v1/transfers',
      {
        schema: {
          operationId: 'adminCreateTransfers',
          tags,
          summary: 'Book a correction',
          description:
            'A posted transfer is never changed or deleted: a correction is a new transfer between existing accounts. ' +
            'Ids are stored as `admin:<id>` (and `pending_id` names an admin transfer): the flow’s own transfers and holds cannot be touched here. The `note` is kept with each transfer (`ref_id`). ' +
            'Linked (the default): all or none. Each transfer gets its result (`created`, `exists`, or why it was refused).',
          body: TransferRequest,
          response: {
            200: answer(TransferResults, 'One result per transfer.'),
            ...errorResponses(400, 401, 413, 415),
          },
        },
      },
      async (request) => {
        const { transfers, linked } = request.body;
        // Admins' transfers live in their own id space (`admin:`), so they can never take an id the
        // flow will use, nor post or void a hold the flow made (an order's escrow, a payout's).
        const inputs = transfers.map(({ note, ...t }) => ({
          ...t,
          id: `admin:${t.id}`,
          ...(t.pending_id ? { pending_id: `admin:${t.pending_id}` } : {}),
          ref_type: 'admin',
          ref_id: note,
        }));
        const out = await db.transaction().execute((trx) => ledger.create(trx, inputs, { linked }));
        return {
          ok: out.ok,
          results: transfers.map((t, i) => ({ id: t.id, result: out.results[i] ?? 'linked_event_failed' })),
        };
      },
    );
  };
}
