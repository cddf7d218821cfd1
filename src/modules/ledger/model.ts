import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';
import { ACCOUNT_KIND_NAMES } from './accounts.js';
import { TRANSFER_KINDS, TRANSFER_RESULTS } from './transfer.js';

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const AccountKindSchema = Type.Union(ACCOUNT_KIND_NAMES.map((k) => Type.Literal(k)));

export const AccountView = Type.Object(
  {
    id: Type.String({ examples: ['acc_5k2m9q0x7c4v1b8n3z6h0d2f4g'] }),
    kind: AccountKindSchema,
    currency: Type.String(),
    owner: Nullable(
      Type.String({ description: 'Issuer, channel, channel/seller or provider; null for the platform.' }),
    ),
    flags: Type.Array(Type.String()),
    normal_side: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
    debits_pending: Type.Integer(),
    debits_posted: Type.Integer(),
    credits_pending: Type.Integer(),
    credits_posted: Type.Integer(),
    balance: Type.Integer({ description: 'Posted, on the normal side (minor units).' }),
    available: Type.Integer({ description: 'Posted less what pending transfers hold against it.' }),
    created_at: Time,
    updated_at: Time,
  },
  { title: 'LedgerAccount' },
);
export type AccountView = Static<typeof AccountView>;

export const AccountListQuery = Type.Object(
  {
    kind: Type.Optional(AccountKindSchema),
    currency: Type.Optional(Type.String({ minLength: 3, maxLength: 4 })),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type AccountListQuery = Static<typeof AccountListQuery>;
export const AccountList = Type.Object({ data: Type.Array(AccountView) });

export const EntryView = Type.Object(
  {
    transfer_id: Type.String(),
    entry: Type.String({ description: 'Order of entries; the cursor of the next page.' }),
    kind: Type.Union(['single', 'pending', 'post', 'void', 'expire'].map((k) => Type.Literal(k))),
    code: Type.Integer({ description: 'What the transfer is for (docs/ledger.md#codes).' }),
    side: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
    amount: Type.Integer(),
    currency: Type.String(),
    counter_account_id: Type.String(),
    pending_id: Nullable(Type.String()),
    pending_state: Nullable(
      Type.String({ description: 'pending transfers: pending, posted, voided or expired.' }),
    ),
    ref_type: Nullable(Type.String()),
    ref_id: Nullable(Type.String()),
    created_at: Time,
    posted_balance: Type.Integer({ description: 'Posted balance after this entry, on the normal side.' }),
    pending_balance: Type.Integer({ description: 'What pending transfers hold after this entry.' }),
  },
  { title: 'LedgerEntry' },
);
export type EntryView = Static<typeof EntryView>;

export const EntryListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ pattern: '^ent_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  },
  { additionalProperties: false },
);
export type EntryListQuery = Static<typeof EntryListQuery>;

export const EntryList = Type.Object({
  account: AccountView,
  data: Type.Array(EntryView),
  next_cursor: Nullable(Type.String()),
});
export type EntryList = Static<typeof EntryList>;

export const AccountParams = Type.Object({ id: Type.String({ pattern: '^acc_[0-9a-z]{26}$' }) });

/** A correction or a manual movement by an admin: always a new transfer, never an edit. */
export const TransferRequest = Type.Object(
  {
    transfers: Type.Array(
      Type.Object(
        {
          id: Type.String({ pattern: '^[\\x21-\\x7e]{1,120}$', description: 'Yours, unique for ever.' }),
          kind: Type.Union(TRANSFER_KINDS.map((k) => Type.Literal(k))),
          debit_account_id: Type.Optional(Type.String({ pattern: '^acc_[0-9a-z]{26}$' })),
          credit_account_id: Type.Optional(Type.String({ pattern: '^acc_[0-9a-z]{26}$' })),
          amount: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          currency: Type.Optional(Type.String({ minLength: 3, maxLength: 4 })),
          code: Type.Integer({ minimum: 1, maximum: 65_535 }),
          pending_id: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
          timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 24 * 3600 })),
          note: Type.String({ minLength: 1, maxLength: 200, description: 'Why: kept with the transfer.' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    linked: Type.Boolean({ default: true, description: 'All or none (default).' }),
  },
  { additionalProperties: false },
);
export type TransferRequest = Static<typeof TransferRequest>;

export const TransferResults = Type.Object({
  ok: Type.Boolean(),
  results: Type.Array(
    Type.Object({ id: Type.String(), result: Type.Union(TRANSFER_RESULTS.map((r) => Type.Literal(r))) }),
  ),
});

/** Releases pending transfers whose timeout passed. */
export const EXPIRE_PENDING = defineJobKind<Record<string, never>>({
  kind: 'ledger.expire_pending',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 1_000, capMs: 10_000 },
  concurrency: 1,
});
