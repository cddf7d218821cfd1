/**
 * The one port every issuer protocol sits behind (docs/architecture.md#processes-and-storage). Adapters speak a protocol and
 * report what the issuer said — its raw result code and the facts it returned. They do not decide
 * what a code means: that is the issuer's mapping table (data: the issuer_codes table, read by verification/code-book.ts and interpreted by verification/decide.ts),
 * so that a new code is a row, not a release. See docs/issuers.md.
 */

/** A card in clear, as the issuer needs it. Never logged. */
export interface IssuerCard {
  cardType: string;
  number: string;
  secret: string;
}

/** What an inquiry found. Amounts are minor units (fen); absent when the issuer did not say. */
export interface Inquiry {
  rawCode: string;
  /** The issuer's words for the code, kept for people; never parsed. */
  rawMessage?: string;
  faceValue?: number;
  balance?: number;
  /** ISO date (YYYY-MM-DD) the card expires, when the issuer tells. */
  expiresOn?: string;
}

/**
 * What a redeem attempt came to.
 * - `done`: the issuer answered; `rawCode` says whether the card was consumed (success code) or refused.
 * - `pending`: the issuer accepted a claim it will confirm later (daily batch file); settle by `lookup`.
 */
export interface Redemption {
  outcome: 'done' | 'pending';
  rawCode: string;
  rawMessage?: string;
  /** Value taken off the card, when the issuer tells. */
  amount?: number;
}

/**
 * What became of an earlier redeem with this redemption id.
 * - `redeemed`: the card was consumed by it (`amount` when told).
 * - `not_redeemed`: the issuer has no such redemption, or refused it; a new attempt with the same id is safe.
 * - `pending`: the claim is known but not settled yet (batch file); ask again later.
 */
export interface LookupResult {
  state: 'redeemed' | 'not_redeemed' | 'pending';
  rawCode: string;
  amount?: number;
}

/**
 * Why a call has no answer. `kind` tells the caller how much it may assume:
 * - `timeout`, `connection` (reset, refused), `malformed` (unparseable or invalid answer): the outcome
 *   is unknown — a redeem must be settled by `lookup`, never sent again blindly.
 * - `unavailable`: the issuer answered that it could not serve the call (HTTP 5xx, SOAP Server fault,
 *   JSON-RPC internal error). For redeem the outcome is still treated as unknown.
 * - `rejected`: the issuer refused the request itself (bad signature, bad parameters): a bug or a
 *   configuration error on our side, not a property of the card; retrying will not help.
 */
export type IssuerCallErrorKind = 'timeout' | 'connection' | 'malformed' | 'unavailable' | 'rejected';

export class IssuerCallError extends Error {
  override name = 'IssuerCallError';
  constructor(
    readonly kind: IssuerCallErrorKind,
    message: string,
    /** The issuer's own code when it sent one (HTTP status, fault code, JSON-RPC error code). */
    readonly rawCode?: string,
  ) {
    super(message);
  }

  /** Worth another try of a safe call (inquire, lookup) or another route. */
  get transient(): boolean {
    return this.kind !== 'rejected';
  }
}

export const ISSUER_PROTOCOLS = ['soap', 'jsonrpc', 'rest', 'batch_file'] as const;
export type IssuerProtocol = (typeof ISSUER_PROTOCOLS)[number];

export interface CallOptions {
  /** Aborts the call (timeout policy, job shutdown). */
  signal?: AbortSignal;
}

export interface IssuerAdapter {
  readonly protocol: IssuerProtocol;
  /** Balance inquiry. Safe: consumes nothing, may be repeated. */
  inquire(card: IssuerCard, options?: CallOptions): Promise<Inquiry>;
  /**
   * Consumes the card. Not safe to repeat: the same `redemptionId` must be used for every attempt at
   * one order's card, and a second attempt is allowed only after `lookup` said `not_redeemed`.
   */
  redeem(card: IssuerCard, redemptionId: string, options?: CallOptions): Promise<Redemption>;
  /** What happened to an earlier redeem. Safe. */
  lookup(redemptionId: string, card: IssuerCard, options?: CallOptions): Promise<LookupResult>;
  /** Releases connections. */
  close(): Promise<void>;
}
