/** The ledger's face (docs/ledger.md). */
export { ACCOUNT_KIND_NAMES, type AccountKey, type AccountKind, accountId, sellerOwner } from './accounts.js';
export { checkLedgerRules, type Violation } from './invariants.js';
export { EXPIRE_PENDING } from './model.js';
export {
  CODES,
  escrowHold,
  type OrderMoney,
  orderMoneyOf,
  type PayoutMoney,
  payoutFailed,
  payoutHold,
  payoutPaid,
  redemption,
} from './postings.js';
export { ledgerRoutes } from './routes.js';
export { createLedger, type Ledger, LedgerRefusal } from './service.js';
export { ledgerSubscriber } from './subscriber.js';
export type { EntryKind, PendingState, TransferInput, TransferRecord, TransferResult } from './transfer.js';
